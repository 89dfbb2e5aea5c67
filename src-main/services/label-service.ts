/** Sets species labels from folder names or from a user's CSV, reporting rows that match nothing; renames and colours species. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LabelImportResult } from '../contract/api';
import { matchLabels, parseLabelCsv, previewLabels, type LabelMatch, type LabelPreview } from '../core/labels/label-csv';
import type { ProjectStore } from './project-store';

/** Most problem rows a label import reports; the counts still cover every row. */
export const MAX_LABEL_PROBLEMS = 20;

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
  return applyLabelCsv(store, bytes, options);
}

/**
 * Matches a labels CSV given as text (what the renderer read from a file the user chose) and, unless `dryRun`,
 * stores its labels; returns the counts, the species and the first rows that matched no image or several.
 *
 * importLabelCsv(store, 'file,species\na.jpg,Agrotis ipsilon\nzz.jpg,Noctua pronuba\n', { dryRun: true })
 * // { matched: 1, unmatched: 1, ambiguous: 0, species: [{ species: 'Agrotis ipsilon', imageCount: 1 }], changed: 0,
 * //   problems: [{ row: 3, reference: 'zz.jpg', reason: 'no image with this path or file name' }] }
 */
export function importLabelCsv(store: ProjectStore, csv: string, options: { dryRun: boolean }): LabelImportResult {
  const { match, preview } = applyLabelCsv(store, csv, options);
  const problems = [...match.unmatched, ...match.ambiguous]
    .sort((first, second) => first.row - second.row)
    .slice(0, MAX_LABEL_PROBLEMS)
    .map(({ row, value, reason }) => ({ row, reference: value, reason }));
  return {
    matched: preview.imageCount,
    unmatched: preview.unmatchedCount,
    ambiguous: preview.ambiguousCount,
    species: preview.species,
    changed: options.dryRun ? 0 : preview.imageCount,
    problems,
  };
}

// The one path from CSV text or bytes to stored labels, shared by the command line (a file) and the app (text).
function applyLabelCsv(store: ProjectStore, input: string | Uint8Array, options: { dryRun?: boolean }): { match: LabelMatch; preview: LabelPreview } {
  const parsed = parseLabelCsv(input);
  const images = store.database.prepare('SELECT id, path, file_name AS fileName FROM images').all() as { id: number; path: string; fileName: string }[];
  const match = matchLabels(parsed.rows, images);
  if (!options.dryRun) store.setLabels(match.matched.map((item) => ({ imageId: item.imageId, species: item.species })), 'csv');
  return { match, preview: previewLabels(match) };
}

/**
 * Renames a species on every image it labels; when `to` already exists the two merge into `to` (keeping `to`'s
 * colour, or taking `from`'s when `to` has none). Returns how many images now carry `to` instead of `from`.
 */
export function renameSpecies(store: ProjectStore, from: string, to: string): number {
  const oldName = from.trim();
  const newName = to.trim();
  if (newName === '') throw new Error('Type the new name of the species.');
  const find = store.database.prepare('SELECT id, color FROM species WHERE name = ?');
  const source = find.get(oldName) as { id: number; color: string | null } | undefined;
  if (!source) throw new Error(`There is no species named "${oldName}" to rename; refresh the view.`);
  if (newName === oldName) return 0;
  return store.database.transaction(() => {
    const target = find.get(newName) as { id: number; color: string | null } | undefined;
    if (!target) {
      store.database.prepare('UPDATE species SET name = ? WHERE id = ?').run(newName, source.id);
      return store.database.prepare('SELECT count(*) FROM labels WHERE species_id = ?').pluck().get(source.id) as number;
    }
    const moved = store.database.prepare('UPDATE labels SET species_id = ? WHERE species_id = ?').run(target.id, source.id).changes;
    if (target.color === null && source.color !== null) store.database.prepare('UPDATE species SET color = ? WHERE id = ?').run(source.color, target.id);
    store.database.prepare('DELETE FROM species WHERE id = ?').run(source.id);
    return moved;
  })();
}

/**
 * Sets a species' palette colour (`#rrggbb`, stored lower-case) or clears it (null: the automatic colour).
 * A species not in the project yet is created, so a palette entry can have a colour before it labels any image.
 * Returns the stored colour.
 */
export function setSpeciesColor(store: ProjectStore, name: string, color: string | null): string | null {
  const species = name.trim();
  if (species === '') throw new Error('Name the species to colour.');
  if (color !== null && !/^#[0-9a-f]{6}$/i.test(color)) throw new Error(`A colour is written #rrggbb, not "${color}".`);
  const stored = color?.toLowerCase() ?? null;
  store.database.transaction(() => {
    store.database.prepare('INSERT INTO species (name) VALUES (?) ON CONFLICT (name) DO NOTHING').run(species);
    store.database.prepare('UPDATE species SET color = ? WHERE name = ?').run(stored, species);
  })();
  return stored;
}
