/**
 * Finds photos again after their folder was moved or renamed. Images are keyed by path, so a moved folder
 * leaves rows that point nowhere, and importing the new location would add every photo a second time.
 * Relinking rescans the new location and gives each missing image the path of a file with its content hash,
 * keeping its id, and with it its labels, cluster assignments and (hash-keyed) embeddings.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { scanImageFolder } from '../core/images/scan';
import { type LongWorkOptions, throwIfCancelled } from '../core/util/progress';
import type { ProjectStore } from './project-store';

/** One image given a new path. */
export interface RelinkedImage {
  imageId: number;
  from: string;
  to: string;
}

/** What a relink did. */
export interface RelinkSummary {
  /** Image files found under the new folder. */
  scanned: number;
  /** Images whose file was missing and was found under the new folder. */
  relinked: RelinkedImage[];
  /** Paths of readable images whose file is missing and was not found under the new folder either. */
  stillMissing: string[];
}

interface MissingImage {
  id: number;
  path: string;
  fileName: string;
  folder: string;
  sha256: string;
  sizeBytes: number;
}

/** SHA-256 of a file's bytes, streamed, as import computes it (hex). */
async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** True unless the path is certainly gone (a permission error is not proof that a file moved). */
async function pathExists(file: string): Promise<boolean> {
  try {
    await fs.stat(file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' && code !== 'ENOTDIR';
  }
}

/**
 * Rescans `newFolder` and updates the path of every readable image whose file no longer exists and whose
 * content hash matches a file found there that the project does not know yet. Among images with the same
 * content (duplicates), one with the same file name, then the same parent folder name, is preferred. Files
 * with no missing counterpart are left alone (import them to add them). All paths change in one transaction.
 *
 * @example
 * await relinkImages(store, '/data/moths-2024')
 * // { scanned: 2205, relinked: [{ imageId: 1, from: '/old/moths/a.jpg', to: '/data/moths-2024/a.jpg' }, ...], stillMissing: [] }
 */
export async function relinkImages(store: ProjectStore, newFolder: string, options: LongWorkOptions = {}): Promise<RelinkSummary> {
  const { signal, onProgress } = options;
  onProgress?.({ fraction: 0, message: `Looking for missing photos` });
  const readable = store.database
    .prepare(`SELECT id, path, file_name AS fileName, folder, sha256, size_bytes AS sizeBytes FROM images
      WHERE status = 'ok' AND sha256 IS NOT NULL ORDER BY id`)
    .all() as MissingImage[];
  const missing: MissingImage[] = [];
  for (const image of readable) if (!(await pathExists(image.path))) missing.push(image);
  const known = new Set(store.database.prepare('SELECT path FROM images').pluck().all() as string[]);
  onProgress?.({ fraction: 0, message: `Scanning ${newFolder}` });
  const files = (await scanImageFolder(newFolder)).filter((entry) => !('error' in entry)).map((entry) => entry.path);
  const bySha = new Map<string, MissingImage[]>();
  for (const image of missing) {
    let list = bySha.get(image.sha256);
    if (!list) bySha.set(image.sha256, (list = []));
    list.push(image);
  }
  const missingSizes = new Set(missing.map((image) => image.sizeBytes));
  const relinked: RelinkedImage[] = [];
  for (const [index, file] of files.entries()) {
    throwIfCancelled(signal);
    if (index % 50 === 0) onProgress?.({ fraction: index / files.length, message: `Checked ${index} of ${files.length} files` });
    if (known.has(file) || bySha.size === 0) continue;
    // Only files of a size some missing image had can match; the others need not be read at all.
    const size = await fs.stat(file).then((stat) => stat.size, () => -1);
    if (!missingSizes.has(size)) continue;
    const candidates = bySha.get(await hashFile(file).catch(() => ''));
    if (!candidates || candidates.length === 0) continue;
    const score = (image: MissingImage) =>
      (image.fileName === path.basename(file) ? 2 : 0) + (path.basename(image.folder) === path.basename(path.dirname(file)) ? 1 : 0);
    let best = 0;
    for (let candidate = 1; candidate < candidates.length; candidate++) {
      if (score(candidates[candidate]!) > score(candidates[best]!)) best = candidate;
    }
    const [chosen] = candidates.splice(best, 1);
    relinked.push({ imageId: chosen!.id, from: chosen!.path, to: file });
  }
  const update = store.database.prepare('UPDATE images SET path = ?, file_name = ?, folder = ? WHERE id = ?');
  store.database.transaction(() => {
    for (const { imageId, to } of relinked) update.run(to, path.basename(to), path.dirname(to), imageId);
  })();
  const moved = new Set(relinked.map((image) => image.imageId));
  onProgress?.({ fraction: 1, message: `Relinked ${relinked.length} images` });
  return { scanned: files.length, relinked, stillMissing: missing.filter((image) => !moved.has(image.id)).map((image) => image.path) };
}
