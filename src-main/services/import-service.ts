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
 * reason; it never stops the import. Rows are written in batches, so a crash loses at most one batch.
 * A project that cannot be written (disk full, read-only) does stop it, keeping the files recorded before.
 */
export async function importFolder(store: ProjectStore, folder: string, options: ImportOptions): Promise<ImportSummary> {
  const { signal, onProgress, labelsFromFolders, thumbnailPath, concurrency = 4 } = options;
  onProgress?.({ fraction: 0, message: `Scanning ${folder}` });
  const entries = await scanImageFolder(folder);
  const summary: ImportSummary = { imported: 0, failed: 0, errors: [] };
  const total = entries.length;
  let done = 0;
  /** Records waiting to be written, with their place in the scan. */
  let pending: { order: number; record: ImageRecord }[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    // In scan order (files finish decoding in any order), so image ids and the species that folder labels
    // create (the palette's order) are the same on every import of the same folder.
    const records = pending.sort((first, second) => first.order - second.order).map(({ record }) => record);
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
    pending = [];
  };
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
  let next = 0;
  let stopped = false;
  const work = async () => {
    while (next < total && !stopped) {
      throwIfCancelled(signal);
      const order = next++;
      // Await before touching `pending`: a concurrent flush may have replaced the array meanwhile.
      const result = await record(entries[order]!);
      pending.push({ order, record: result });
      done++;
      if (pending.length >= BATCH_SIZE) flush();
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
      throw error;
    }
  };
  // Wait for every worker, even after one stops on cancel, so nothing writes or reports after we return.
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(concurrency, Math.max(total, 1)) }, worker));
  flush();
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
