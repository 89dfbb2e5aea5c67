// Bundles the plain-Node entry points (command line, local bridge) into out/node/ with esbuild.
// Dependencies stay external: they are loaded from node_modules at run time.
import { build } from 'esbuild';

await build({
  entryPoints: {
    cli: 'src-main/cli/index.ts',
    bridge: 'src-main/bridge/index.ts',
    'job-worker': 'src-main/services/job-worker.ts',
  },
  outdir: 'out/node',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});
