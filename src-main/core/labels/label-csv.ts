/**
 * Reads a user's labels CSV (one image and its species per row) and matches its rows to the project's images.
 *
 * Spreadsheets save CSV in different dialects: `;` where the decimal separator is a comma, tab for "text" exports,
 * with or without a UTF-8 byte order mark. The header names the two columns we need; its delimiter is sniffed.
 */
import { parseCsv } from '../export/csv';
import { restoreNeutralised } from '../export/spreadsheet-safe';

/** A field separator a labels CSV may use. */
export type LabelDelimiter = ',' | ';' | '\t';

/** Header names accepted for the image column, in order of preference; case, spaces, `-` and `_` are ignored. */
export const PATH_COLUMN_NAMES: readonly string[] = ['path', 'image_path', 'file', 'file_name', 'filename', 'image'];

/** Header names accepted for the species column, in order of preference; case, spaces, `-` and `_` are ignored. */
export const SPECIES_COLUMN_NAMES: readonly string[] = ['species', 'label', 'species_label', 'scientific_name', 'taxon'];

const DELIMITERS: readonly LabelDelimiter[] = [',', ';', '\t'];

/** One data row of a labels CSV. */
export interface LabelRow {
  /** Row number as a spreadsheet shows it: the header is row 1, so the first data row is row 2. */
  row: number;
  /** The image's full path or file name, as written in the file (trimmed). */
  reference: string;
  /** The species, trimmed; empty when the cell is empty. */
  species: string;
}

/** A parsed labels CSV: the dialect and columns found, and its non-blank data rows. */
export interface LabelCsv {
  delimiter: LabelDelimiter;
  /** The header of the column used for images, as written in the file. */
  pathColumn: string;
  /** The header of the column used for species, as written in the file. */
  speciesColumn: string;
  rows: LabelRow[];
}

/**
 * Parses a labels CSV from bytes (must be UTF-8; a byte order mark is dropped) or text.
 *
 * parseLabelCsv('File Name;Species\r\na.jpg;Agrotis ipsilon\r\n')
 * // { delimiter: ';', pathColumn: 'File Name', speciesColumn: 'Species',
 * //   rows: [{ row: 2, reference: 'a.jpg', species: 'Agrotis ipsilon' }] }
 */
export function parseLabelCsv(input: string | Uint8Array): LabelCsv {
  const text = (typeof input === 'string' ? input : decodeUtf8(input)).replace(/^\uFEFF/, '');
  if (text.trim() === '') throw new Error('The labels CSV is empty');
  const delimiter = sniffDelimiter(text);
  const records = parseCsv(text, delimiter);
  const header = records[0] ?? [];
  const columns = findColumns(header);
  if (!columns) {
    throw new Error(
      `The labels CSV needs a header with an image column (one of: ${PATH_COLUMN_NAMES.join(', ')}) ` +
        `and a species column (one of: ${SPECIES_COLUMN_NAMES.join(', ')}); its header is: ${header.join(', ')}`,
    );
  }
  const rows: LabelRow[] = [];
  records.forEach((record, index) => {
    // Blank lines (and rows of empty cells, as spreadsheets save them) carry nothing to report.
    if (index === 0 || record.every((field) => field.trim() === '')) return;
    rows.push({
      row: index + 1,
      reference: (record[columns.path] ?? '').trim(),
      // Our own exports prefix formula-like text with a quote (see neutraliseFormula); take it off again.
      species: restoreNeutralised((record[columns.species] ?? '').trim()),
    });
  });
  return { delimiter, pathColumn: header[columns.path]!, speciesColumn: header[columns.species]!, rows };
}

/**
 * Guesses a labels CSV's delimiter from its header line.
 *
 * Picks the delimiter under which both needed columns are found, else the one that splits the header into the
 * most fields, else `,`.
 */
export function sniffDelimiter(text: string): LabelDelimiter {
  const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n|\r/, 1)[0] ?? '';
  let best: LabelDelimiter = ',';
  let bestFields = 1;
  for (const delimiter of DELIMITERS) {
    const header = parseCsv(firstLine, delimiter)[0] ?? [];
    if (findColumns(header)) return delimiter;
    if (header.length > bestFields) {
      best = delimiter;
      bestFields = header.length;
    }
  }
  return best;
}

/** One image a label may go to. */
export interface LabelImage {
  id: number;
  path: string;
  fileName: string;
}

/** A row matched to exactly one image. */
export interface MatchedLabel {
  imageId: number;
  species: string;
  row: number;
}

/** A row that labels no image, with the reason to show the user. */
export interface UnmatchedLabel {
  row: number;
  value: string;
  reason: string;
}

/** A row that could label several images, or that contradicts another row, with the reason to show the user. */
export interface AmbiguousLabel {
  row: number;
  value: string;
  imageIds: number[];
  reason: string;
}

/** The outcome of matching: every data row lands in exactly one of the three lists, in file order. */
export interface LabelMatch {
  matched: MatchedLabel[];
  unmatched: UnmatchedLabel[];
  ambiguous: AmbiguousLabel[];
}

/**
 * Matches label rows to images: by full path first, then by file name when exactly one image has that name.
 *
 * A value with folders that is not an image's full path (a path from another computer) falls back to its
 * file name. Paths compare with `\` and `/` treated alike, and accents in either Unicode normal form alike.
 * Rows that give one image two different species all go to `ambiguous`, so neither silently wins; rows that
 * repeat the same species stay matched.
 *
 * matchLabels([{ row: 2, reference: 'a.jpg', species: 'Agrotis ipsilon' }], [{ id: 7, path: '/moths/a.jpg', fileName: 'a.jpg' }])
 * // { matched: [{ imageId: 7, species: 'Agrotis ipsilon', row: 2 }], unmatched: [], ambiguous: [] }
 */
export function matchLabels(rows: readonly LabelRow[], images: readonly LabelImage[]): LabelMatch {
  const byPath = groupIds(images, (image) => pathKey(image.path));
  const byFileName = groupIds(images, (image) => image.fileName.normalize('NFC'));
  const candidates: (MatchedLabel & { value: string })[] = [];
  const unmatched: UnmatchedLabel[] = [];
  const ambiguous: AmbiguousLabel[] = [];

  for (const { row, reference, species } of rows) {
    if (reference === '') {
      unmatched.push({ row, value: reference, reason: 'empty path or file name' });
      continue;
    }
    if (species === '') {
      unmatched.push({ row, value: reference, reason: 'empty species' });
      continue;
    }
    const found = findImage(reference, byPath, byFileName);
    if (found.kind === 'one') candidates.push({ imageId: found.imageId, species, row, value: reference });
    else if (found.kind === 'many') ambiguous.push({ row, value: reference, imageIds: found.imageIds, reason: found.reason });
    else unmatched.push({ row, value: reference, reason: 'no image with this path or file name' });
  }

  // Rows that disagree about one image are all reported, rather than letting file order pick the species.
  const rowsByImage = new Map<number, typeof candidates>();
  for (const candidate of candidates) {
    rowsByImage.set(candidate.imageId, [...(rowsByImage.get(candidate.imageId) ?? []), candidate]);
  }
  const matched: MatchedLabel[] = [];
  for (const { imageId, species, row, value } of candidates) {
    const sameImage = rowsByImage.get(imageId)!;
    if (sameImage.every((other) => other.species === species)) matched.push({ imageId, species, row });
    else {
      const rowNumbers = sameImage.map((other) => other.row).join(', ');
      ambiguous.push({ row, value, imageIds: [imageId], reason: `rows ${rowNumbers} give this image different species` });
    }
  }
  ambiguous.sort((first, second) => first.row - second.row);
  return { matched, unmatched, ambiguous };
}

/** What an import would do, for a preview before applying it. */
export interface LabelPreview {
  /** Distinct images that would get a label. */
  imageCount: number;
  unmatchedCount: number;
  ambiguousCount: number;
  /** Distinct images per species, most images first, then by name. */
  species: { species: string; imageCount: number }[];
}

/**
 * Summarises a match for the import preview.
 *
 * previewLabels(match) // { imageCount: 3, unmatchedCount: 1, ambiguousCount: 0,
 * //   species: [{ species: 'Agrotis ipsilon', imageCount: 2 }, { species: 'Noctua pronuba', imageCount: 1 }] }
 */
export function previewLabels(match: LabelMatch): LabelPreview {
  const imagesBySpecies = new Map<string, Set<number>>();
  for (const { species, imageId } of match.matched) {
    imagesBySpecies.set(species, (imagesBySpecies.get(species) ?? new Set()).add(imageId));
  }
  const species = [...imagesBySpecies]
    .map(([name, imageIds]) => ({ species: name, imageCount: imageIds.size }))
    .sort((first, second) => second.imageCount - first.imageCount || first.species.localeCompare(second.species, 'en'));
  return {
    imageCount: new Set(match.matched.map((label) => label.imageId)).size,
    unmatchedCount: match.unmatched.length,
    ambiguousCount: match.ambiguous.length,
    species,
  };
}

type Found = { kind: 'one'; imageId: number } | { kind: 'many'; imageIds: number[]; reason: string } | { kind: 'none' };

function findImage(reference: string, byPath: Map<string, number[]>, byFileName: Map<string, number[]>): Found {
  // A path or file name that our export quoted against formula injection is tried as written first, then unquoted.
  const values = [...new Set([reference, restoreNeutralised(reference)])];
  for (const value of values) {
    const pathIds = byPath.get(pathKey(value)) ?? [];
    if (pathIds.length === 1) return { kind: 'one', imageId: pathIds[0]! };
    if (pathIds.length > 1) return { kind: 'many', imageIds: pathIds, reason: `path matches ${pathIds.length} images` };
    const fileName = value.split(/[\\/]/).pop()!.normalize('NFC');
    const nameIds = byFileName.get(fileName) ?? [];
    if (nameIds.length === 1) return { kind: 'one', imageId: nameIds[0]! };
    if (nameIds.length > 1) {
      return { kind: 'many', imageIds: nameIds, reason: `file name matches ${nameIds.length} images; use the full path` };
    }
  }
  return { kind: 'none' };
}

function groupIds(images: readonly LabelImage[], key: (image: LabelImage) => string): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (const image of images) {
    const value = key(image);
    groups.set(value, [...(groups.get(value) ?? []), image.id]);
  }
  return groups;
}

/**
 * Compares paths written with either separator alike, so `C:/data/a.jpg` finds `C:\data\a.jpg`, and accents in
 * either Unicode form alike: macOS file names are decomposed (NFD), text typed in a spreadsheet is composed (NFC).
 */
function pathKey(path: string): string {
  return path.normalize('NFC').replaceAll('\\', '/');
}

function findColumns(header: readonly string[]): { path: number; species: number } | null {
  const path = findColumn(header, PATH_COLUMN_NAMES);
  const species = findColumn(header, SPECIES_COLUMN_NAMES);
  return path === -1 || species === -1 || path === species ? null : { path, species };
}

function findColumn(header: readonly string[], names: readonly string[]): number {
  const keys = header.map(columnKey);
  for (const name of names) {
    const index = keys.indexOf(columnKey(name));
    if (index !== -1) return index;
  }
  return -1;
}

/** `Image Path`, `image-path`, `imagePath` and `image_path` all name the same column. */
function columnKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    // The default decoder drops a leading byte order mark; `fatal` rejects other encodings instead of garbling them.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error('The labels CSV is not UTF-8; save it as "CSV UTF-8" and import it again');
  }
}
