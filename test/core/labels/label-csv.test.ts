import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTable } from '../../../src-main/core/export/table-writer';
import {
  matchLabels,
  parseLabelCsv,
  previewLabels,
  sniffDelimiter,
  type LabelImage,
  type LabelRow,
} from '../../../src-main/core/labels/label-csv';
import { temporaryFolder } from '../../helpers/fixtures';
import { runPython } from '../export/python';

/** A hand-made labels CSV with awkward cells: commas, quotes, accents, leading `=`, a newline inside quotes. */
const AWKWARD_CSV = [
  'Image Path,Species',
  '"/data/Noctuidae, misc/Agrotis ""ipsilon"" 1.jpg",Agrotis ipsilon',
  '/data/ä ö/Zygène.jpg, Zygaena filipendulae ',
  `'=cmd.jpg,'=SUM(A1)`,
  '"/data/two\nlines.jpg",Noctua pronuba',
  '=raw.jpg,=raw species',
  '',
  ',,',
  'missing.jpg,',
].join('\r\n');

const IMAGES: LabelImage[] = [
  { id: 1, path: '/data/Noctuidae, misc/Agrotis "ipsilon" 1.jpg', fileName: 'Agrotis "ipsilon" 1.jpg' },
  { id: 2, path: '/data/a/IMG_0001.jpg', fileName: 'IMG_0001.jpg' },
  { id: 3, path: '/data/b/IMG_0001.jpg', fileName: 'IMG_0001.jpg' },
  { id: 4, path: '/data/c/IMG_0001.jpg', fileName: 'IMG_0001.jpg' },
  { id: 5, path: '/data/two\nlines.jpg', fileName: 'two\nlines.jpg' },
  { id: 6, path: '/data/=cmd.jpg', fileName: '=cmd.jpg' },
  // Decomposed è, as macOS stores file names.
  { id: 7, path: 'C:\\Moths\\Zyge\u0300ne.jpg', fileName: 'Zyge\u0300ne.jpg' },
];

describe('parseLabelCsv', () => {
  it('reads awkward cells and numbers rows as a spreadsheet does', () => {
    expect(parseLabelCsv(AWKWARD_CSV)).toEqual({
      delimiter: ',',
      pathColumn: 'Image Path',
      speciesColumn: 'Species',
      rows: [
        { row: 2, reference: '/data/Noctuidae, misc/Agrotis "ipsilon" 1.jpg', species: 'Agrotis ipsilon' },
        { row: 3, reference: '/data/ä ö/Zygène.jpg', species: 'Zygaena filipendulae' },
        { row: 4, reference: "'=cmd.jpg", species: '=SUM(A1)' },
        { row: 5, reference: '/data/two\nlines.jpg', species: 'Noctua pronuba' },
        { row: 6, reference: '=raw.jpg', species: '=raw species' },
        { row: 9, reference: 'missing.jpg', species: '' },
      ],
    });
  });

  it('sniffs `;` and tab, ignores a BOM and matches header names loosely', () => {
    const semicolon = new TextEncoder().encode('\uFEFFFile Name;SPECIES\r\na,1.jpg;Agrotis ipsilon\r\n');
    expect(parseLabelCsv(semicolon)).toEqual({
      delimiter: ';',
      pathColumn: 'File Name',
      speciesColumn: 'SPECIES',
      rows: [{ row: 2, reference: 'a,1.jpg', species: 'Agrotis ipsilon' }],
    });
    expect(parseLabelCsv('count\timagePath\tscientificName\n3\t/x/a.jpg\tNoctua pronuba\n')).toEqual({
      delimiter: '\t',
      pathColumn: 'imagePath',
      speciesColumn: 'scientificName',
      rows: [{ row: 2, reference: '/x/a.jpg', species: 'Noctua pronuba' }],
    });
  });

  it('prefers the full path column and the species column of our own per-image export', () => {
    const header = 'image_path,file_name,content_sha256,cluster_id,cluster_name,distance_to_center,species_label,label_source';
    const parsed = parseLabelCsv(`${header}\r\n/x/a.jpg,a.jpg,ab,0,Cluster 0,0.5,Agrotis ipsilon,folder\r\n`);
    expect([parsed.pathColumn, parsed.speciesColumn, parsed.rows]).toEqual([
      'image_path',
      'species_label',
      [{ row: 2, reference: '/x/a.jpg', species: 'Agrotis ipsilon' }],
    ]);
  });

  it('explains a missing column, an empty file and a file that is not UTF-8', () => {
    expect(() => parseLabelCsv('name,count\r\na,1\r\n')).toThrow(
      'The labels CSV needs a header with an image column (one of: path, image_path, file, file_name, filename, image) ' +
        'and a species column (one of: species, label, species_label, scientific_name, taxon); its header is: name, count',
    );
    expect(() => parseLabelCsv('\uFEFF \r\n')).toThrow('The labels CSV is empty');
    // "ä" in Windows-1252 is the single byte 0xE4, which is not valid UTF-8.
    const latin1 = Uint8Array.from([...new TextEncoder().encode('path,species\na.jpg,Zyg'), 0xe4, 0x6e]);
    expect(() => parseLabelCsv(latin1)).toThrow('The labels CSV is not UTF-8; save it as "CSV UTF-8" and import it again');
  });

  it('reads a tab-separated, fully quoted file written by Python csv', () => {
    const { folder, cleanup } = temporaryFolder('label-csv-');
    try {
      const file = path.join(folder, 'labels.tsv');
      const script = [
        'import csv, sys',
        "with open(sys.argv[1], 'w', newline='', encoding='utf-8-sig') as handle:",
        "    writer = csv.writer(handle, delimiter='\\t', quoting=csv.QUOTE_ALL, lineterminator='\\n')",
        "    writer.writerow(['Filename', 'Taxon'])",
        "    writer.writerow(['Agrotis \"ipsilon\" 1.jpg', 'Agrotis ipsilon'])",
        "    writer.writerow(['two\\nlines.jpg', 'Noctua\\tpronuba'])",
        "    writer.writerow(['Zyg\\u00e8ne.jpg', '=1+1'])",
        "print('{}')",
      ].join('\n');
      runPython(script, [file]);
      expect(parseLabelCsv(readFileSync(file))).toEqual({
        delimiter: '\t',
        pathColumn: 'Filename',
        speciesColumn: 'Taxon',
        rows: [
          { row: 2, reference: 'Agrotis "ipsilon" 1.jpg', species: 'Agrotis ipsilon' },
          { row: 3, reference: 'two\nlines.jpg', species: 'Noctua\tpronuba' },
          { row: 4, reference: 'Zygène.jpg', species: '=1+1' },
        ],
      });
    } finally {
      cleanup();
    }
  });
});

describe('sniffDelimiter', () => {
  it('picks the delimiter under which the needed columns appear, else the one splitting most', () => {
    expect(sniffDelimiter('path,species\r\n')).toBe(',');
    expect(sniffDelimiter('path;species\r\n"a,b";c\r\n')).toBe(';');
    expect(sniffDelimiter('path\tspecies')).toBe('\t');
    expect(sniffDelimiter('"file;name",species')).toBe(',');
    expect(sniffDelimiter('a;b;c,d')).toBe(';');
    expect(sniffDelimiter('x')).toBe(',');
  });
});

describe('matchLabels', () => {
  const rows: LabelRow[] = [
    { row: 2, reference: '/data/Noctuidae, misc/Agrotis "ipsilon" 1.jpg', species: 'Agrotis ipsilon' },
    { row: 3, reference: 'IMG_0001.jpg', species: 'Noctua pronuba' },
    { row: 4, reference: '/data/b/IMG_0001.jpg', species: 'Noctua pronuba' },
    { row: 5, reference: "'=cmd.jpg", species: '=SUM(A1)' },
    { row: 6, reference: 'C:/Moths/Zyg\u00e8ne.jpg', species: 'Zygaena filipendulae' },
    { row: 7, reference: '/old/computer/two\nlines.jpg', species: 'Noctua pronuba' },
    { row: 8, reference: 'missing.jpg', species: 'Noctua pronuba' },
    { row: 9, reference: 'IMG_0002.jpg', species: '' },
    { row: 10, reference: '', species: 'Noctua pronuba' },
    { row: 11, reference: '/data/a/IMG_0001.jpg', species: 'Agrotis ipsilon' },
    { row: 12, reference: '/data/a/IMG_0001.jpg', species: 'Agrotis segetum' },
    { row: 13, reference: 'Agrotis "ipsilon" 1.jpg', species: 'Agrotis ipsilon' },
  ];
  const match = matchLabels(rows, IMAGES);

  it('matches by full path, then by a unique file name, and says why a row is left out', () => {
    expect(match).toEqual({
      matched: [
        { imageId: 1, species: 'Agrotis ipsilon', row: 2 },
        { imageId: 3, species: 'Noctua pronuba', row: 4 },
        { imageId: 6, species: '=SUM(A1)', row: 5 },
        { imageId: 7, species: 'Zygaena filipendulae', row: 6 },
        { imageId: 5, species: 'Noctua pronuba', row: 7 },
        { imageId: 1, species: 'Agrotis ipsilon', row: 13 },
      ],
      unmatched: [
        { row: 8, value: 'missing.jpg', reason: 'no image with this path or file name' },
        { row: 9, value: 'IMG_0002.jpg', reason: 'empty species' },
        { row: 10, value: '', reason: 'empty path or file name' },
      ],
      ambiguous: [
        { row: 3, value: 'IMG_0001.jpg', imageIds: [2, 3, 4], reason: 'file name matches 3 images; use the full path' },
        { row: 11, value: '/data/a/IMG_0001.jpg', imageIds: [2], reason: 'rows 11, 12 give this image different species' },
        { row: 12, value: '/data/a/IMG_0001.jpg', imageIds: [2], reason: 'rows 11, 12 give this image different species' },
      ],
    });
  });

  it('summarises distinct images per species for the preview', () => {
    expect(previewLabels(match)).toEqual({
      imageCount: 5,
      unmatchedCount: 3,
      ambiguousCount: 3,
      species: [
        { species: 'Noctua pronuba', imageCount: 2 },
        { species: '=SUM(A1)', imageCount: 1 },
        { species: 'Agrotis ipsilon', imageCount: 1 },
        { species: 'Zygaena filipendulae', imageCount: 1 },
      ],
    });
  });

  it('reads back labels from a table our exporter wrote (BOM, `;`, neutralised cells)', () => {
    const byPath = writeTable(
      ['image_path', 'file_name', 'species_label'],
      [
        ['/data/=cmd.jpg', '=cmd.jpg', '-x sp.'],
        ['/data/two\nlines.jpg', 'two\nlines.jpg', 'Noctua; pronuba'],
      ],
      { delimiter: ';', bom: true },
    );
    const byFileName = writeTable(['file_name', 'species'], [['=cmd.jpg', '@home sp.']], { delimiter: '\t' });
    expect(matchLabels(parseLabelCsv(new TextEncoder().encode(byPath)).rows, IMAGES).matched).toEqual([
      { imageId: 6, species: '-x sp.', row: 2 },
      { imageId: 5, species: 'Noctua; pronuba', row: 3 },
    ]);
    expect(matchLabels(parseLabelCsv(byFileName).rows, IMAGES).matched).toEqual([
      { imageId: 6, species: '@home sp.', row: 2 },
    ]);
  });
});
