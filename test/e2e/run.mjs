// Runs the end-to-end tests with node's test runner (needs `npm run build` first and Debian chromium).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

for (const built of ['out/renderer/index.html', 'out/node/bridge.js']) {
  if (!existsSync(built)) {
    console.error(`Missing ${built}: run \`npm run build\` first.`);
    process.exit(1);
  }
}
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(chromium)) {
  console.error(`Chromium not found at ${chromium}: install it (apt-get install -y chromium) or set CHROMIUM_PATH.`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', 'test/e2e/'], { stdio: 'inherit' });
process.exit(result.status ?? 1);
