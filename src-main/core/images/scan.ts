/** Finds image files under a folder, following symbolic links safely. */
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** File extensions the importer reads (lower case, with the dot). */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.tif', '.tiff', '.webp', '.gif', '.avif', '.heic', '.heif']);

/** A file found by the scan, or a path that could not be read. */
export type ScanEntry = { path: string } | { path: string; error: string };

/**
 * Lists image files under `root`, depth first in name order. Skips hidden entries and folders whose names
 * start with `_` (dataset metadata). Follows symbolic links once each, so a link loop cannot recur.
 */
export async function scanImageFolder(root: string): Promise<ScanEntry[]> {
  const absoluteRoot = path.resolve(root);
  let rootStat;
  try {
    rootStat = await fs.stat(absoluteRoot);
  } catch {
    throw new Error(`Folder not found: ${absoluteRoot}. Check the path and try again.`);
  }
  if (!rootStat.isDirectory()) throw new Error(`Not a folder: ${absoluteRoot}. Choose a folder of images.`);
  const found: ScanEntry[] = [];
  const visited = new Set<string>();
  async function walk(folder: string): Promise<void> {
    let real: string;
    try {
      real = await fs.realpath(folder);
    } catch (error) {
      found.push({ path: folder, error: `Cannot open folder: ${(error as Error).message}` });
      return;
    }
    if (visited.has(real)) return;
    visited.add(real);
    let entries;
    try {
      entries = await fs.readdir(folder, { withFileTypes: true });
    } catch (error) {
      found.push({ path: folder, error: `Cannot read folder: ${(error as Error).message}` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(folder, entry.name);
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const target = await fs.stat(full);
          isDirectory = target.isDirectory();
          isFile = target.isFile();
        } catch {
          found.push({ path: full, error: 'Broken symbolic link: its target does not exist.' });
          continue;
        }
      }
      if (isDirectory) {
        if (!entry.name.startsWith('_')) await walk(full);
      } else if (isFile && IMAGE_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) {
        found.push({ path: full });
      }
    }
  }
  await walk(absoluteRoot);
  return found;
}
