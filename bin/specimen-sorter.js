#!/usr/bin/env node
// Runs the bundled command line (built into out/node/ by `npm install` or `npm run build:node`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../out/node/cli.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write('specimen-sorter is not built yet: run `npm run build:node` in the repository first.\n');
  process.exit(1);
}
await import(cli);
