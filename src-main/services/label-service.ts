/** Sets species labels from folder names or from a user's CSV, reporting rows that match nothing. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { matchLabels, parseLabelCsv, previewLabels, type LabelMatch, type LabelPreview } from '../core/labels/label-csv';
import type { ProjectStore } from './project-store';

/** Labels every imported image with its parent folder's name (source `folder`); returns how many. */
export function labelFromFolders(store: ProjectStore): number {
  const images = store.database.prepare('SELECT id, folder FROM images').all() as { id: number; folder: string }[];
  store.setLabels(images.map((image) => ({ imageId: image.id, species: path.basename(image.folder) })), 'folder');
  return images.length;
}

/**
 * Reads a labels CSV (a path or file name column and a species column), matches it to the project's images
 * and, unless `dryRun`, stores the matched labels (source `csv`).
 */
export async function labelFromCsv(store: ProjectStore, file: string, options: { dryRun?: boolean } = {}): Promise<{ match: LabelMatch; preview: LabelPreview }> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    throw new Error(`Cannot read ${file}: ${(error as Error).message}`);
  }
  const parsed = parseLabelCsv(bytes);
  const images = store.database.prepare('SELECT id, path, file_name AS fileName FROM images').all() as { id: number; path: string; fileName: string }[];
  const match = matchLabels(parsed.rows, images);
  if (!options.dryRun) store.setLabels(match.matched.map((item) => ({ imageId: item.imageId, species: item.species })), 'csv');
  return { match, preview: previewLabels(match) };
}
