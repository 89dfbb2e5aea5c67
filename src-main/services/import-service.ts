/** Imports a folder of photos into a project: hash, validate by decoding, thumbnail, and record each file. */
import path from 'node:path';
import { inspectImage } from '../core/images/decode';
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
 */
export async function importFolder(store: ProjectStore, folder: string, options: ImportOptions): Promise<ImportSummary> {
  const { signal, onProgress, labelsFromFolders, thumbnailPath, concurrency = 4 } = options;
  onProgress?.({ fraction: 0, message: `Scanning ${folder}` });
  const entries = await scanImageFolder(folder);
  const summary: ImportSummary = { imported: 0, failed: 0, errors: [] };
  const total = entries.length;
  let done = 0;
  let pending: ImageRecord[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const ids = store.upsertImages(pending);
    if (labelsFromFolders) {
      store.setLabels(
        pending.map((record, index) => ({ imageId: ids[index]!, species: path.basename(record.folder) })),
        'folder',
      );
    }
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
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return failed('The file disappeared during import (moved or deleted).');
      if (code === 'EACCES' || code === 'EPERM') return failed('Permission denied: the app may not read this file.');
      return failed((error as Error).message);
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < total) {
      throwIfCancelled(signal);
      const entry = entries[next++]!;
      // Await before touching `pending`: a concurrent flush may have replaced the array meanwhile.
      const result = await record(entry);
      pending.push(result);
      done++;
      if (pending.length >= BATCH_SIZE) flush();
      if (done % 10 === 0 || done === total) {
        onProgress?.({ fraction: done / total, message: `Imported ${done} of ${total} files (${summary.failed} unreadable)` });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(total, 1)) }, worker));
  } finally {
    flush();
  }
  return summary;
}
