import { cpSync, mkdirSync, renameSync, unlinkSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importFolder } from '../../src-main/services/import-service';
import { Project } from '../../src-main/services/project';
import { relinkImages } from '../../src-main/services/relink-service';
import { temporaryFolder, writeJpeg } from '../helpers/fixtures';

let temporary: ReturnType<typeof temporaryFolder>;
let project: Project;
let photos: string;

interface Row {
  id: number;
  path: string;
  file_name: string;
  folder: string;
  sha256: string;
}

function rows(): Row[] {
  return project.store.database.prepare('SELECT id, path, file_name, folder, sha256 FROM images ORDER BY id').all() as Row[];
}

function labels(): { image_id: number; name: string }[] {
  return project.store.database
    .prepare('SELECT l.image_id, s.name FROM labels l JOIN species s ON s.id = l.species_id ORDER BY l.image_id')
    .all() as { image_id: number; name: string }[];
}

beforeEach(async () => {
  temporary = temporaryFolder('specimen-relink-');
  photos = path.join(temporary.folder, 'photos');
  // Two species folders; `dup 1.jpg` and `dup 2.jpg` hold the same bytes (one content hash, two images).
  for (const species of ['Mimas tiliae', 'Catocala nupta']) mkdirSync(path.join(photos, species), { recursive: true });
  for (let index = 0; index < 3; index++) await writeJpeg(path.join(photos, 'Mimas tiliae', `m${index}.jpg`), index);
  for (let index = 0; index < 3; index++) await writeJpeg(path.join(photos, 'Catocala nupta', `c${index}.jpg`), 10 + index);
  await writeJpeg(path.join(photos, 'Catocala nupta', 'dup 1.jpg'), 20);
  writeFileSync(path.join(photos, 'Catocala nupta', 'dup 2.jpg'), readFileSync(path.join(photos, 'Catocala nupta', 'dup 1.jpg')));
  project = Project.open(path.join(temporary.folder, 'project'));
  await importFolder(project.store, photos, { labelsFromFolders: true, thumbnailPath: (sha256) => project.thumbnailPath(sha256) });
  // Embeddings and a clustering run hang off hashes and image ids; relinking must leave them in place.
  project.store.putEmbeddings(
    'test-model',
    2,
    rows().map((row, index) => ({ sha256: row.sha256, vector: Float32Array.of(index, 1) })),
  );
  project.store.saveRun(
    { method: 'kmeans', k: 2, seed: 0, modelId: 'test-model', parameters: {} },
    rows().map((row, index) => ({ imageId: row.id, clusterId: 1 + (index % 2), distance: 0 })),
  );
});

afterEach(async () => {
  await project.close();
  temporary.cleanup();
});

describe('relinkImages', () => {
  it('gives moved and renamed photos their new paths, keeping ids, labels, embeddings and clusters', async () => {
    const before = rows();
    const labelsBefore = labels();
    const moved = path.join(temporary.folder, 'moved photos');
    renameSync(photos, moved);
    renameSync(path.join(moved, 'Mimas tiliae', 'm1.jpg'), path.join(moved, 'Mimas tiliae', 'renamed.jpg'));
    unlinkSync(path.join(moved, 'Catocala nupta', 'c2.jpg'));
    await writeJpeg(path.join(moved, 'Catocala nupta', 'new.jpg'), 99);

    const summary = await relinkImages(project.store, moved);

    expect(summary.scanned).toBe(8);
    expect(summary.stillMissing).toEqual([path.join(photos, 'Catocala nupta', 'c2.jpg')]);
    expect(summary.relinked).toHaveLength(7);
    const after = rows();
    expect(after.map((row) => row.id)).toEqual(before.map((row) => row.id));
    const newPath = (row: Row) => after.find((other) => other.id === row.id)!.path;
    for (const row of before) {
      const relative = path.relative(photos, row.path);
      if (relative === path.join('Catocala nupta', 'c2.jpg')) expect(newPath(row)).toBe(row.path);
      else if (relative === path.join('Mimas tiliae', 'm1.jpg')) expect(newPath(row)).toBe(path.join(moved, 'Mimas tiliae', 'renamed.jpg'));
      else expect(newPath(row)).toBe(path.join(moved, relative));
    }
    // Duplicates keep their own names, not each other's.
    const dup = after.find((row) => row.file_name === 'dup 2.jpg')!;
    expect(dup.path).toBe(path.join(moved, 'Catocala nupta', 'dup 2.jpg'));
    expect(dup.folder).toBe(path.join(moved, 'Catocala nupta'));
    expect(labels()).toEqual(labelsBefore);
    expect(project.store.embeddedCount('test-model')).toBe(8);
    expect(project.store.clusterMembers(project.store.latestRun()!.id).get(1)).toHaveLength(4);

    // The new photo is not added by relinking; importing the folder then adds only it.
    await importFolder(project.store, moved, { labelsFromFolders: true, thumbnailPath: (sha256) => project.thumbnailPath(sha256) });
    expect(rows()).toHaveLength(9);
  });

  it('changes nothing when run again, or when the old files are still there (a copy, not a move)', async () => {
    const copy = path.join(temporary.folder, 'copy');
    cpSync(photos, copy, { recursive: true });
    const before = rows();
    expect(await relinkImages(project.store, copy)).toEqual({ scanned: 8, relinked: [], stillMissing: [] });
    expect(rows()).toEqual(before);

    const moved = path.join(temporary.folder, 'moved');
    renameSync(photos, moved);
    expect((await relinkImages(project.store, moved)).relinked).toHaveLength(8);
    expect(await relinkImages(project.store, moved)).toEqual({ scanned: 8, relinked: [], stillMissing: [] });
  });

  it('reports every missing photo when the new folder holds none of them', async () => {
    const elsewhere = path.join(temporary.folder, 'elsewhere');
    mkdirSync(elsewhere);
    await writeJpeg(path.join(elsewhere, 'other.jpg'), 77);
    renameSync(photos, path.join(temporary.folder, 'gone'));
    const summary = await relinkImages(project.store, elsewhere);
    expect(summary.relinked).toEqual([]);
    expect(summary.stillMissing).toHaveLength(8);
    await expect(relinkImages(project.store, path.join(temporary.folder, 'no such folder'))).rejects.toThrow(/Folder not found/);
  });
});
