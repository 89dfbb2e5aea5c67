import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importFolder } from '../../src-main/services/import-service';
import { importLabelCsv, labelFromCsv, MAX_LABEL_PROBLEMS, renameSpecies, setSpeciesColor } from '../../src-main/services/label-service';
import { Project } from '../../src-main/services/project';
import { temporaryFolder, writeJpeg } from '../helpers/fixtures';

let temporary: ReturnType<typeof temporaryFolder>;
let project: Project;
let photos: string;

function labelOf(fileName: string): string | null {
  return (
    (project.store.database
      .prepare('SELECT s.name FROM images i LEFT JOIN labels l ON l.image_id = i.id LEFT JOIN species s ON s.id = l.species_id WHERE i.file_name = ?')
      .pluck()
      .get(fileName) as string | null | undefined) ?? null
  );
}

beforeEach(async () => {
  temporary = temporaryFolder('specimen-labels-');
  photos = path.join(temporary.folder, 'photos');
  // Two species folders of 3 and 2 photos, plus a `same.jpg` in each (a file name that alone is ambiguous).
  for (const species of ['Mimas tiliae', 'Catocala nupta']) mkdirSync(path.join(photos, species), { recursive: true });
  for (let index = 0; index < 3; index++) await writeJpeg(path.join(photos, 'Mimas tiliae', `m${index}.jpg`), index);
  for (let index = 0; index < 2; index++) await writeJpeg(path.join(photos, 'Catocala nupta', `c${index}.jpg`), 10 + index);
  await writeJpeg(path.join(photos, 'Mimas tiliae', 'same.jpg'), 20);
  await writeJpeg(path.join(photos, 'Catocala nupta', 'same.jpg'), 21);
  project = Project.open(path.join(temporary.folder, 'project'));
  await importFolder(project.store, photos, { labelsFromFolders: true, thumbnailPath: (sha256) => project.thumbnailPath(sha256) });
});

afterEach(async () => {
  await project.close();
  temporary.cleanup();
});

describe('renameSpecies', () => {
  it('renames a species on every image it labels', () => {
    expect(renameSpecies(project.store, 'Mimas tiliae', 'Lime hawk-moth')).toBe(4);
    expect(labelOf('m0.jpg')).toBe('Lime hawk-moth');
    expect(project.store.speciesCounts().map(({ name, images }) => [name, images])).toEqual([
      ['Catocala nupta', 3],
      ['Lime hawk-moth', 4],
    ]);
  });

  it('merges into an existing species, keeping its colour and taking the other one when it has none', () => {
    setSpeciesColor(project.store, 'Mimas tiliae', '#AA0000');
    expect(renameSpecies(project.store, 'Mimas tiliae', 'Catocala nupta')).toBe(4);
    expect(project.store.speciesCounts()).toEqual([{ name: 'Catocala nupta', images: 7, color: '#aa0000' }]);
    expect(project.store.database.prepare('SELECT count(*) FROM species').pluck().get()).toBe(1);
  });

  it('says when the species to rename does not exist, and changes nothing for the same name', () => {
    expect(() => renameSpecies(project.store, 'Noctua pronuba', 'X')).toThrow(/no species named "Noctua pronuba"/);
    expect(() => renameSpecies(project.store, 'Mimas tiliae', '  ')).toThrow(/new name/);
    expect(renameSpecies(project.store, 'Mimas tiliae', ' Mimas tiliae ')).toBe(0);
    expect(labelOf('m1.jpg')).toBe('Mimas tiliae');
  });
});

describe('setSpeciesColor', () => {
  it('stores a colour, creating a species that labels nothing yet so the palette keeps it', () => {
    expect(setSpeciesColor(project.store, 'Noctua pronuba', '#12AB9f')).toBe('#12ab9f');
    expect(setSpeciesColor(project.store, 'Mimas tiliae', '#000000')).toBe('#000000');
    expect(project.store.speciesCounts()).toEqual([
      { name: 'Catocala nupta', images: 3, color: null },
      { name: 'Mimas tiliae', images: 4, color: '#000000' },
      { name: 'Noctua pronuba', images: 0, color: '#12ab9f' },
    ]);
    // Species come oldest first (folders are imported in name order), so number keys do not move.
    // Cleared again, a species with no images leaves the palette; one with images keeps its place.
    expect(setSpeciesColor(project.store, 'Noctua pronuba', null)).toBeNull();
    expect(setSpeciesColor(project.store, 'Mimas tiliae', null)).toBeNull();
    expect(project.store.speciesCounts().map((species) => species.name)).toEqual(['Catocala nupta', 'Mimas tiliae']);
  });

  it('refuses a colour not written #rrggbb', () => {
    expect(() => setSpeciesColor(project.store, 'Mimas tiliae', 'red')).toThrow(/#rrggbb/);
    expect(project.store.speciesCounts().every((species) => species.color === null)).toBe(true);
  });
});

describe('importLabelCsv', () => {
  const csv = [
    'file_name;species',
    'm0.jpg;Agrotis ipsilon',
    `${path.join('/elsewhere', 'c1.jpg')};Agrotis ipsilon`,
    'm1.jpg;Noctua pronuba',
    'same.jpg;Noctua pronuba',
    'missing.jpg;Noctua pronuba',
    'm2.jpg;',
  ].join('\r\n');

  it('previews without writing on a dry run, with the rows to fix and why', () => {
    const result = importLabelCsv(project.store, csv, { dryRun: true });
    expect(result).toEqual({
      matched: 3,
      unmatched: 2,
      ambiguous: 1,
      species: [
        { species: 'Agrotis ipsilon', imageCount: 2 },
        { species: 'Noctua pronuba', imageCount: 1 },
      ],
      changed: 0,
      problems: [
        { row: 5, reference: 'same.jpg', reason: 'file name matches 2 images; use the full path' },
        { row: 6, reference: 'missing.jpg', reason: 'no image with this path or file name' },
        { row: 7, reference: 'm2.jpg', reason: 'empty species' },
      ],
    });
    expect(labelOf('m0.jpg')).toBe('Mimas tiliae');
  });

  it('applies the matched labels when not a dry run, as the file-based import does', async () => {
    const result = importLabelCsv(project.store, csv, { dryRun: false });
    expect(result.changed).toBe(3);
    expect([labelOf('m0.jpg'), labelOf('c1.jpg'), labelOf('m1.jpg'), labelOf('m2.jpg')]).toEqual([
      'Agrotis ipsilon',
      'Agrotis ipsilon',
      'Noctua pronuba',
      'Mimas tiliae',
    ]);
    const source = project.store.database
      .prepare("SELECT l.source FROM labels l JOIN images i ON i.id = l.image_id WHERE i.file_name = 'm0.jpg'")
      .pluck()
      .get();
    expect(source).toBe('csv');
  });

  it('reports at most 20 problem rows but counts them all', () => {
    const rows = Array.from({ length: 30 }, (_, index) => `nothing-${index}.jpg,Noctua pronuba`);
    const result = importLabelCsv(project.store, ['path,label', 'c0.jpg,Noctua pronuba', ...rows].join('\n'), { dryRun: true });
    expect(result.unmatched).toBe(30);
    expect(result.problems).toHaveLength(MAX_LABEL_PROBLEMS);
    expect(result.problems[0]).toEqual({ row: 3, reference: 'nothing-0.jpg', reason: 'no image with this path or file name' });
    expect(result.problems.at(-1)!.row).toBe(22);
  });

  it('says what is wrong with a file that has no usable header', () => {
    expect(() => importLabelCsv(project.store, 'a,b\n1,2\n', { dryRun: true })).toThrow(/needs a header/);
  });

  it('matches the same rows as labelFromCsv reading the file', async () => {
    const file = path.join(temporary.folder, 'labels.csv');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, csv);
    const fromFile = await labelFromCsv(project.store, file, { dryRun: true });
    const fromText = importLabelCsv(project.store, csv, { dryRun: true });
    expect(fromFile.preview.imageCount).toBe(fromText.matched);
    expect(fromFile.match.unmatched.length + fromFile.match.ambiguous.length).toBe(fromText.problems.length);
  });
});
