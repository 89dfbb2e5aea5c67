/** Imports a folder of photos into a project: hash, validate by decoding, thumbnail, and record each file. */
import path from 'node:path';
import { inspectImage, ThumbnailWriteError } from '../core/images/decode';
import { scanImageFolder } from '../core/images/scan';
import { type LongWorkOptions, throwIfCancelled } from '../core/util/progress';
import type { ImageRecord, ProjectStore } from './project-store';

/** What an import did; `errors` names every file that could not be read and why. */
export interface ImportSummary {
  imported: number;
  failed: number;
  errors: { path: string; reason: string }[];
}

/** Import settings. */
export interface ImportOptions extends LongWorkOptions {
  /** Take each image's parent folder name as its species label (source `folder`). */
  labelsFromFolders: boolean;
  /** Where a thumbnail for a content hash is written. */
  thumbnailPath: (sha256: string) => string;
  /** Files decoded at once; sharp decodes on libuv's thread pool. Default 4. */
  concurrency?: number;
}

const BATCH_SIZE = 100;

/**
 * Imports every image under `folder`. A file that cannot be read becomes an image with status `error` and a
 * reason; it never stops the import. Rows are written in batches, in scan order, so a crash loses at most one batch.
 * A project that cannot be written (disk full, read-only) does stop it, keeping the files recorded before.
 */
export async function importFolder(store: ProjectStore, folder: string, options: ImportOptions): Promise<ImportSummary> {
  const { signal, onProgress, labelsFromFolders, thumbnailPath, concurrency = 4 } = options;
  onProgress?.({ fraction: 0, message: `Scanning ${folder}` });
  const entries = await scanImageFolder(folder);
  const summary: ImportSummary = { imported: 0, failed: 0, errors: [] };
  const total = entries.length;
  let done = 0;
  /** The next scan position to inspect; `stopped` once a worker failed (cancelled, project not writable). */
  let next = 0;
  let stopped = false;
  // Files finish inspecting in any order (`concurrency` at once, a big one later than small ones after it),
  // but rows are written strictly in scan order: files inspected early wait for a slower one before them.
  // So image ids, and the species that folder labels create, follow the scan on every import of the same
  // folder. Writing whichever files had finished gave a slow file near a batch boundary a later id in some
  // imports and not in others, and every later step reads rows in id order (training episodes, K-means
  // seeding): the same seed on the same photos then trained and clustered differently.
  /** Inspected files not yet written, by their place in the scan. */
  const pending = new Map<number, ImageRecord>();
  /** The first scan position not yet written, and the first not yet inspected at or after it. */
  let nextToWrite = 0;
  let nextInspected = 0;
  /** Workers held back by `roomFor`, woken when rows are written or the import stops. */
  let waiting: (() => void)[] = [];
  const wakeWaiting = () => {
    for (const wake of waiting) wake();
    waiting = [];
  };
  /**
   * Holds a worker back while its file lies a whole batch past the first unwritten one, so the files
   * inspected but not yet written stay fewer than a batch (what a crash can lose) behind a slow file.
   */
  const roomFor = async (order: number) => {
    while (order >= nextToWrite + BATCH_SIZE && !stopped) await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const write = (orders: number[]) => {
    if (orders.length === 0) return;
    const records = orders.map((order) => pending.get(order)!);
    // Images and their folder labels in one transaction, so a crash never leaves a batch unlabeled.
    store.database.transaction(() => {
      const ids = store.upsertImages(records);
      if (labelsFromFolders) {
        store.setLabels(
          records.map((record, index) => ({ imageId: ids[index]!, species: path.basename(record.folder) })),
          'folder',
        );
      }
    })();
    for (const order of orders) pending.delete(order);
  };
  /** Writes the unbroken run of inspected files from `nextToWrite` once it holds a batch. */
  const writeReady = () => {
    while (pending.has(nextInspected)) nextInspected++;
    if (nextInspected - nextToWrite < BATCH_SIZE) return;
    write(Array.from({ length: nextInspected - nextToWrite }, (_, index) => nextToWrite + index));
    nextToWrite = nextInspected;
    wakeWaiting();
  };
  /** Writes everything left, in scan order (after a stop there may be gaps: files never inspected). */
  const writeRest = () => write([...pending.keys()].sort((first, second) => first - second));
  const record = async (entry: (typeof entries)[number]): Promise<ImageRecord> => {
    const base = { path: entry.path, fileName: path.basename(entry.path), folder: path.dirname(entry.path) };
    const failed = (reason: string): ImageRecord => {
      summary.failed++;
      summary.errors.push({ path: entry.path, reason });
      return { ...base, sha256: null, sizeBytes: null, width: null, height: null, status: 'error', error: reason };
    };
    if ('error' in entry) return failed(entry.error);
    try {
      const facts = await inspectImage(entry.path, thumbnailPath);
      summary.imported++;
      return { ...base, ...facts, status: 'ok', error: null };
    } catch (error) {
      if (error instanceof ThumbnailWriteError) throw error;
      return failed(describeReadError(error as NodeJS.ErrnoException));
    }
  };
  const work = async () => {
    while (next < total && !stopped) {
      throwIfCancelled(signal);
      const order = next++;
      await roomFor(order);
      if (stopped) return;
      throwIfCancelled(signal);
      pending.set(order, await record(entries[order]!));
      done++;
      writeReady();
      if (done % 10 === 0 || done === total) {
        onProgress?.({ fraction: done / total, message: `Imported ${done} of ${total} files (${summary.failed} unreadable)` });
      }
    }
  };
  const worker = async () => {
    try {
      await work();
    } catch (error) {
      // One worker stopping (cancelled, project not writable) stops the others at their next file.
      stopped = true;
      wakeWaiting();
      throw error;
    }
  };
  // Wait for every worker, even after one stops on cancel, so nothing writes or reports after we return.
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(concurrency, Math.max(total, 1)) }, worker));
  writeRest();
  const failure = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failure) throw (failure as PromiseRejectedResult).reason;
  return summary;
}

/** The reason recorded for a file that could not be inspected: what went wrong and, where it helps, what to do. */
function describeReadError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'The file disappeared during import (moved or deleted). Import the folder again once nothing else is moving files in it.';
    case 'EACCES':
    case 'EPERM':
      return 'Permission denied: the app may not read this file. Give your user read access (for example chmod a+r) and import again.';
    case 'ELOOP':
      return 'Symbolic link loop: the link leads back to itself. Remove the link.';
    case 'EIO':
      return `The disk reported a read error (${error.message}). Copy the file from a backup.`;
    default:
      return error.message;
  }
}
