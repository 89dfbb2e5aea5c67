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
 *
 * What cannot be read becomes an entry with an `error` that says why: a folder without permission, a
 * broken or looping link with an image name (or no extension, as a folder link has), a name that is not
 * valid UTF-8. Files with other extensions are ignored, broken or not.
 *
 * @example
 * await scanImageFolder('photos')
 * // [{ path: '/abs/photos/a.jpg' }, { path: '/abs/photos/old.jpg', error: 'Broken symbolic link: ...' }]
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
      found.push({ path: folder, error: describeFolderError(error as NodeJS.ErrnoException) });
      return;
    }
    if (visited.has(real)) return;
    visited.add(real);
    let entries;
    try {
      entries = await fs.readdir(folder, { withFileTypes: true });
    } catch (error) {
      found.push({ path: folder, error: describeFolderError(error as NodeJS.ErrnoException) });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(folder, entry.name);
      const imageName = IMAGE_EXTENSIONS.has(path.extname(entry.name).toLowerCase());
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      // Node decodes names as UTF-8, turning each invalid byte into U+FFFD; the decoded string then names
      // no file at all, and reading it would wrongly look like the file had been deleted.
      if (entry.name.includes('\uFFFD') && !(await exists(full))) {
        if (isDirectory || imageName) found.push({ path: full, error: INVALID_NAME });
        continue;
      }
      if (entry.isSymbolicLink()) {
        try {
          const target = await fs.stat(full);
          isDirectory = target.isDirectory();
          isFile = target.isFile();
        } catch (error) {
          // A broken link to notes.txt loses nothing; one named like an image or a folder loses photos.
          if (imageName || path.extname(entry.name) === '') {
            found.push({ path: full, error: await describeLinkError(full, error as NodeJS.ErrnoException) });
          }
          continue;
        }
      }
      if (isDirectory) {
        if (!entry.name.startsWith('_')) await walk(full);
      } else if (isFile && imageName) {
        found.push({ path: full });
      }
    }
  }
  await walk(absoluteRoot);
  return found;
}

const INVALID_NAME =
  'The file name is not valid UTF-8 (probably written by an older system in another encoding), so the app cannot open it. Rename the file and import again.';

async function exists(file: string): Promise<boolean> {
  return fs.lstat(file).then(
    () => true,
    () => false,
  );
}

function describeFolderError(error: NodeJS.ErrnoException): string {
  if (error.code === 'EACCES' || error.code === 'EPERM') {
    return 'Permission denied: the app may not open this folder, so the images in it were skipped. Give your user read access to it (for example chmod a+rx) and import again.';
  }
  if (error.code === 'ENOENT') return 'The folder disappeared during the scan (moved or deleted).';
  return `Cannot read folder: ${error.message}`;
}

async function describeLinkError(link: string, error: NodeJS.ErrnoException): Promise<string> {
  const target = await fs.readlink(link).catch(() => 'its target');
  if (error.code === 'ENOENT') return `Broken symbolic link: its target "${target}" does not exist. Fix or remove the link.`;
  if (error.code === 'ELOOP') return `Symbolic link loop: the link leads back to itself (through "${target}"). Remove the link.`;
  if (error.code === 'EACCES' || error.code === 'EPERM') return `Permission denied: the app may not follow the symbolic link to "${target}".`;
  return `Cannot follow the symbolic link to "${target}": ${error.message}`;
}
