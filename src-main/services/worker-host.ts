/**
 * Runs a long job in a worker thread, so that embedding, clustering and training never block the main
 * process's event loop (the app's IPC and the bridge keep answering while they run). The worker opens its
 * own connection to the project's database (WAL lets both read while one writes); cancelling posts a message
 * and the worker stops at its next step.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TrainingEpoch } from '../contract/api';
import { CancelledError, type Progress } from '../core/util/progress';
import { runTask, type TaskResult, type WorkerTask, type WorkHooks } from './job-work';
import type { Project } from './project';

/** What the worker is told when it starts. */
export interface WorkerStart {
  folder: string;
  defaultModelPath: string | null;
}

/** Messages from the worker to the main thread. */
export type WorkerMessage =
  | { type: 'progress'; progress: Progress }
  | { type: 'epoch'; record: Omit<TrainingEpoch, 'jobId'> }
  | { type: 'done'; result: unknown }
  | { type: 'failed'; cancelled: boolean; message: string; code: string | null };

/**
 * The bundled worker beside this module (out/main/ or out/node/), or null when running from the TypeScript
 * sources (unit tests), where the task runs in-process instead.
 */
export function workerScript(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const file = path.join(here, 'job-worker.js');
  return existsSync(file) ? file : null;
}

let warnedInProcess = false;

/** Runs `task` for `project` in a worker thread (or in-process without a worker bundle); resolves to the task's result. */
export function runInWorker<T extends WorkerTask>(project: Project, task: T, hooks: WorkHooks, script = workerScript()): Promise<TaskResult<T>> {
  if (!script || process.env.SPECIMEN_SORTER_NO_WORKER === '1') {
    // Expected from the TypeScript sources (tests); in a built app it means job-worker.js was not packaged.
    if (!script && !warnedInProcess && import.meta.url.includes('/out/')) {
      warnedInProcess = true;
      process.emitWarning('job-worker.js was not found beside the main bundle: long jobs run on the main thread.');
    }
    return runTask(project, task, hooks);
  }
  const start: WorkerStart & { task: WorkerTask } = { folder: project.folder, defaultModelPath: project.defaultModelPath, task };
  return new Promise<TaskResult<T>>((resolve, reject) => {
    const worker = new Worker(script, { workerData: start });
    let settled = false;
    const settle = (action: () => void) => {
      if (settled) return;
      settled = true;
      hooks.signal.removeEventListener('abort', onAbort);
      action();
    };
    const onAbort = () => worker.postMessage({ type: 'cancel' });
    hooks.signal.addEventListener('abort', onAbort);
    if (hooks.signal.aborted) onAbort();
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') hooks.report(message.progress);
      else if (message.type === 'epoch') hooks.epoch(message.record);
      else if (message.type === 'done') settle(() => resolve(message.result as TaskResult<T>));
      else {
        const error = message.cancelled ? new CancelledError() : Object.assign(new Error(message.message), message.code ? { code: message.code } : {});
        settle(() => reject(error));
      }
    });
    worker.on('error', (error) => settle(() => reject(error)));
    worker.on('exit', (code) => {
      // A worker that dies without a word (out of memory, a native crash) fails the job with a reason.
      settle(() => reject(new Error(`The background worker stopped unexpectedly (exit code ${code}). Try again; if it keeps failing, try fewer photos or a smaller model.`)));
    });
  });
}
