import { resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';

// Main and preload run in Electron; the renderer is a Svelte 5 app that also runs in a browser through the bridge.
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      // The job worker is its own entry so that it lands beside index.js as job-worker.js (see worker-host.ts).
      rollupOptions: {
        input: { index: resolve(__dirname, 'src-main/app/main.ts'), 'job-worker': resolve(__dirname, 'src-main/services/job-worker.ts') },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve(__dirname, 'src-main/preload/index.ts') },
        // A sandboxed preload must be CommonJS.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src-renderer'),
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      rollupOptions: { input: resolve(__dirname, 'src-renderer/index.html') },
    },
    plugins: [svelte()],
  },
});
