/**
 * Entry of the worker thread that runs a long job (see job-work.ts): it opens its own connection to the
 * project, runs the task, and posts progress, training epochs and the outcome to the main thread, which
 * may cancel it with a message. Bundled to `job-worker.js` beside the main process's and the bridge's code.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CancelledError } from '../core/util/progress';
import { runTask, type WorkerTask } from './job-work';
import { Project } from './project';
import type { WorkerMessage, WorkerStart } from './worker-host';

const port = parentPort;
if (!port) throw new Error('job-worker.js runs only as a worker thread');
const { folder, defaultModelPath, task } = workerData as WorkerStart & { task: WorkerTask };
const controller = new AbortController();
const post = (message: WorkerMessage) => port.postMessage(message);
port.on('message', (message: { type: 'cancel' }) => {
  if (message.type === 'cancel') controller.abort();
});

let project: Project | null = null;
try {
  project = Project.open(folder, defaultModelPath, { recoverJobs: false });
  const result = await runTask(project, task, {
    signal: controller.signal,
    report: (progress) => post({ type: 'progress', progress }),
    epoch: (record) => post({ type: 'epoch', record }),
  });
  post({ type: 'done', result });
} catch (error) {
  const cancelled = error instanceof CancelledError || controller.signal.aborted;
  post({ type: 'failed', cancelled, message: (error as Error).message, code: (error as NodeJS.ErrnoException).code ?? null });
} finally {
  await project?.close().catch(() => undefined);
  port.close();
}
