/**
 * Runs long jobs one at a time per project: each gets an id, progress events, cancel through an
 * AbortController, and a row in the `jobs` table, so a crash leaves a job marked `interrupted`, not lost.
 */
import { randomUUID } from 'node:crypto';
import type { JobFinished, JobKind, JobProgress, TrainingEpoch } from '../contract/api';
import { nowIso, type ProjectDatabase } from '../db/database';
import { CancelledError, type Progress } from '../core/util/progress';
import { describeStorageError } from './storage-errors';

/** What a job's work function receives. */
export interface JobContext {
  signal: AbortSignal;
  report(progress: Progress): void;
}

/** Listener for job events. */
export interface JobListener {
  progress(event: JobProgress): void;
  finished(event: JobFinished): void;
  trainingEpoch?(event: TrainingEpoch): void;
}

interface RunningJob {
  progress: JobProgress;
  controller: AbortController;
  finished: Promise<JobFinished>;
}

/** Starts, tracks and cancels jobs. */
export class JobRunner {
  #running = new Map<string, RunningJob>();
  #listeners = new Set<JobListener>();
  #lastPersist = 0;

  /** `recover`: mark jobs a crash left `running` as interrupted (only the project's first opener does). */
  constructor(
    private readonly database: ProjectDatabase,
    recover = true,
  ) {
    if (recover) database.prepare("UPDATE jobs SET status = 'interrupted', finished_at = ? WHERE status = 'running'").run(nowIso());
  }

  /** Subscribes to job events; returns an unsubscribe function. */
  subscribe(listener: JobListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Jobs in progress now. */
  active(): JobProgress[] {
    return [...this.#running.values()].map((job) => job.progress);
  }

  /**
   * Starts a job and returns its id at once. `work` resolves to a message describing the result.
   * Throws when another job is running, because jobs of one project share its data.
   */
  start(kind: JobKind, parameters: unknown, work: (context: JobContext) => Promise<string>): string {
    const busy = this.active()[0];
    if (busy) throw new Error(`Another job is running (${busy.kind}: ${busy.message}). Wait for it to finish or cancel it.`);
    const jobId = randomUUID();
    const controller = new AbortController();
    this.database
      .prepare("INSERT INTO jobs (id, kind, status, parameters, started_at) VALUES (?, ?, 'running', ?, ?)")
      .run(jobId, kind, JSON.stringify(parameters), nowIso());
    const progress: JobProgress = { jobId, kind, fraction: 0, message: 'Starting' };
    let ended = false;
    const report = (next: Progress) => {
      // Work still unwinding after the job ended must not revive it in the UI.
      if (ended) return;
      progress.fraction = Math.min(1, Math.max(0, next.fraction));
      progress.message = next.message;
      for (const listener of this.#listeners) listener.progress({ ...progress });
      const now = Date.now();
      if (now - this.#lastPersist > 1000) {
        this.#lastPersist = now;
        this.database.prepare('UPDATE jobs SET fraction = ?, message = ? WHERE id = ?').run(progress.fraction, progress.message, jobId);
      }
    };
    const finished = (async (): Promise<JobFinished> => {
      await Promise.resolve();
      let event: JobFinished;
      try {
        const message = await work({ signal: controller.signal, report });
        event = { jobId, kind, status: 'done', message };
      } catch (error) {
        event =
          error instanceof CancelledError || controller.signal.aborted
            ? { jobId, kind, status: 'cancelled', message: 'Cancelled; the work finished before cancelling is kept.' }
            : { jobId, kind, status: 'failed', message: describeStorageError(error) ?? (error as Error).message };
      }
      ended = true;
      this.#running.delete(jobId);
      try {
        this.database
          .prepare('UPDATE jobs SET status = ?, message = ?, error = ?, fraction = ?, finished_at = ? WHERE id = ?')
          .run(event.status, event.message, event.status === 'failed' ? event.message : null, progress.fraction, nowIso(), jobId);
      } catch {
        // A full or read-only disk cannot take the final status either: the row stays `running`, the next
        // open marks it `interrupted`, and listeners still hear how the job ended.
      }
      for (const listener of this.#listeners) listener.finished(event);
      return event;
    })();
    this.#running.set(jobId, { progress, controller, finished });
    return jobId;
  }

  /** Tells listeners that a training job finished an epoch. */
  emitTrainingEpoch(jobId: string, record: Omit<TrainingEpoch, 'jobId'>): void {
    for (const listener of this.#listeners) listener.trainingEpoch?.({ jobId, ...record });
  }

  /** Asks a job to stop; it stops at its next step. Returns false for an unknown or finished job. */
  cancel(jobId: string): boolean {
    const job = this.#running.get(jobId);
    if (!job) return false;
    job.controller.abort();
    return true;
  }

  /** Waits for a job to end. */
  async wait(jobId: string): Promise<JobFinished> {
    const job = this.#running.get(jobId);
    if (!job) throw new Error(`No running job ${jobId}`);
    return job.finished;
  }

  /** Cancels every job and waits for them to stop. */
  async shutdown(): Promise<void> {
    const jobs = [...this.#running.values()];
    for (const job of jobs) job.controller.abort();
    await Promise.all(jobs.map((job) => job.finished));
  }
}
