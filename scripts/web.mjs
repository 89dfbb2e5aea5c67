// `npm run web -- --project <dir>`: builds what is missing, then serves the app to a browser through the bridge.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const run = (command, args) => {
  const result = spawnSync(command, args, { stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
if (!existsSync('out/renderer/index.html')) run('npx', ['electron-vite', 'build']);
if (!existsSync('out/node/bridge.js')) run('node', ['scripts/build-node.mjs']);
await import(new URL('../out/node/bridge.js', import.meta.url).href);
