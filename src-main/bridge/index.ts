/**
 * `npm run web -- --project <dir> [--port <n>] [--model <path>]`: opens (creating) a project and serves the
 * app to a browser on 127.0.0.1. Prints `Listening on http://127.0.0.1:<port>/?token=<token>`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { findDefaultModel } from '../services/default-model';
import { MODEL_SETTING, Project } from '../services/project';
import { startBridge } from './server';

const appRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function start(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { project: { type: 'string' }, port: { type: 'string' }, model: { type: 'string' } },
    strict: true,
  });
  if (!values.project) throw new Error('Usage: npm run web -- --project <dir> [--port <n>] [--model <path>]');
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, not ${values.port}`);
  const project = Project.open(values.project, findDefaultModel(appRoot));
  if (values.model) project.store.setSetting(MODEL_SETTING, path.resolve(values.model));
  const bridge = await startBridge({ project, rendererFolder: path.join(appRoot, 'out', 'renderer'), port });
  process.stdout.write(`Project ${project.folder}; model ${project.modelPath() ?? 'none found'}\n`);
  process.stdout.write(`Listening on ${bridge.url}\n`);
  const stop = async () => {
    await bridge.close();
    await project.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

start().catch((error: Error) => {
  process.stderr.write(`Error: ${error.message}\n`);
  process.exit(1);
});
