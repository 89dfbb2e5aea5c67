// The library's queries (filters, select-all ids, palette counts) and the viewer's screen-sized photo,
// on a real project made of JPEGs written by the test.
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PREVIEW_SIZE } from '../../src-main/core/images/preview';
import { imagePreviewFile, previewPath } from '../../src-main/services/image-preview';
import { importFolder } from '../../src-main/services/import-service';
import { Project } from '../../src-main/services/project';
import { temporaryFolder, writeJpeg } from '../helpers/fixtures';

let temporary: ReturnType<typeof temporaryFolder>;
let project: Project;
let photos: string;

const id = (fileName: string) => project.store.database.prepare('SELECT id FROM images WHERE file_name = ?').pluck().get(fileName) as number;
const names = (images: { fileName: string }[]) => images.map((image) => image.fileName);

beforeEach(async () => {
  temporary = temporaryFolder('specimen-library-');
  photos = path.join(temporary.folder, 'photos');
  mkdirSync(path.join(photos, 'Aglia tau'), { recursive: true });
  mkdirSync(path.join(photos, 'unsorted'), { recursive: true });
  await writeJpeg(path.join(photos, 'Aglia tau', 'Tau_1.jpg'), 1);
  await writeJpeg(path.join(photos, 'Aglia tau', 'tau_2.JPG'), 2);
  await writeJpeg(path.join(photos, 'unsorted', 'moth 100%.jpg'), 3);
  await writeJpeg(path.join(photos, 'unsorted', 'moth_a.jpg'), 4);
  writeFileSync(path.join(photos, 'unsorted', 'broken.jpg'), 'not a photo');
  project = Project.open(path.join(temporary.folder, 'project'));
  await importFolder(project.store, photos, { labelsFromFolders: false, thumbnailPath: (sha256) => project.thumbnailPath(sha256) });
  project.store.setLabels([{ imageId: id('Tau_1.jpg'), species: 'Aglia tau' }, { imageId: id('tau_2.JPG'), species: 'Aglia tau' }], 'folder');
  project.store.setLabels([{ imageId: id('moth_a.jpg'), species: 'Mimas tiliae' }], 'user');
  // An older run puts everything in cluster 1; the latest puts the two taus in cluster 2. Filters use the latest.
  const readable = ['Tau_1.jpg', 'tau_2.JPG', 'moth 100%.jpg', 'moth_a.jpg'];
  project.store.saveRun({ method: 'kmeans', k: 1, seed: 0, modelId: 'm', parameters: {} }, readable.map((name) => ({ imageId: id(name), clusterId: 1, distance: 0 })));
  project.store.saveRun(
    { method: 'kmeans', k: 2, seed: 0, modelId: 'm', parameters: {} },
    readable.map((name) => ({ imageId: id(name), clusterId: name.toLowerCase().startsWith('tau') ? 2 : 1, distance: 0 })),
  );
});

afterEach(async () => {
  await project.close();
  temporary.cleanup();
});

describe('listImages and imageIds', () => {
  it('lists every image in id order with label and latest-run cluster, a page at a time', () => {
    const all = project.store.listImages(0, 100, {});
    expect(all.total).toBe(5);
    const tau = all.images.find((image) => image.fileName === 'Tau_1.jpg')!;
    expect(tau).toMatchObject({ status: 'ok', speciesLabel: 'Aglia tau', labelSource: 'folder', clusterId: 2 });
    expect(all.images.find((image) => image.fileName === 'broken.jpg')).toMatchObject({ status: 'error', clusterId: null, speciesLabel: null });
    const page = project.store.listImages(1, 2, {});
    expect(page.total).toBe(5);
    expect(page.images.map((image) => image.id)).toEqual(all.images.slice(1, 3).map((image) => image.id));
    expect(project.store.imageIds({})).toEqual(all.images.map((image) => image.id));
  });

  it('narrows by cluster, status, species, labeled and file name, alone and together', () => {
    const list = (filter: Parameters<typeof project.store.listImages>[2]) => {
      const result = project.store.listImages(0, 100, filter);
      expect(result.total).toBe(result.images.length);
      expect(project.store.imageIds(filter)).toEqual(result.images.map((image) => image.id));
      return names(result.images).sort();
    };
    expect(list({ clusterId: 2 })).toEqual(['Tau_1.jpg', 'tau_2.JPG']);
    expect(list({ clusterId: 1 })).toEqual(['moth 100%.jpg', 'moth_a.jpg']);
    expect(list({ status: 'error' })).toEqual(['broken.jpg']);
    expect(list({ status: 'ok' })).toHaveLength(4);
    expect(list({ species: 'Aglia tau' })).toEqual(['Tau_1.jpg', 'tau_2.JPG']);
    expect(list({ species: 'Nobody' })).toEqual([]);
    expect(list({ labeled: true })).toEqual(['Tau_1.jpg', 'moth_a.jpg', 'tau_2.JPG']);
    expect(list({ labeled: false })).toEqual(['broken.jpg', 'moth 100%.jpg']);
    expect(list({ search: 'TAU' })).toEqual(['Tau_1.jpg', 'tau_2.JPG']);
    // % and _ are the user's characters, not wildcards.
    expect(list({ search: '100%' })).toEqual(['moth 100%.jpg']);
    expect(list({ search: 'h_' })).toEqual(['moth_a.jpg']);
    expect(list({ search: '%' })).toEqual(['moth 100%.jpg']);
    expect(list({ search: '  ' })).toHaveLength(5);
    expect(list({ clusterId: 1, labeled: false, search: 'moth' })).toEqual(['moth 100%.jpg']);
    expect(list({ clusterId: 2, species: 'Aglia tau', status: 'ok', search: '_2' })).toEqual(['tau_2.JPG']);
  });

  it('answers a search that could inject SQL with no match, not an error', () => {
    expect(project.store.listImages(0, 10, { search: "x' OR 1=1 --" })).toEqual({ total: 0, images: [] });
    expect(project.store.listImages(0, 10, { species: "' OR ''='" })).toEqual({ total: 0, images: [] });
  });
});

describe('imagePreviewFile', () => {
  it('writes a JPEG at most PREVIEW_SIZE on the long side once, then serves the cached file', async () => {
    const huge = path.join(photos, 'unsorted', 'wide.png');
    await sharp({ create: { width: 5000, height: 2500, channels: 3, background: '#336699' } }).png().toFile(huge);
    await importFolder(project.store, photos, { labelsFromFolders: false, thumbnailPath: (sha256) => project.thumbnailPath(sha256) });
    const [first, second] = await Promise.all([imagePreviewFile(project, id('wide.png')), imagePreviewFile(project, id('wide.png'))]);
    expect(first).toBe(second);
    const metadata = await sharp(first!).metadata();
    expect([metadata.format, metadata.width, metadata.height]).toEqual(['jpeg', PREVIEW_SIZE, PREVIEW_SIZE / 2]);
    const written = statSync(first!).mtimeMs;
    expect(await imagePreviewFile(project, id('wide.png'))).toBe(first);
    expect(statSync(first!).mtimeMs).toBe(written);
    expect(first).toBe(previewPath(project, project.store.image(id('wide.png'))!.sha256!));
  });

  it('never enlarges a small photo, and has nothing for an unreadable or unknown image', async () => {
    const small = await imagePreviewFile(project, id('moth_a.jpg'));
    expect((await sharp(small!).metadata()).width).toBe(64);
    expect(await imagePreviewFile(project, id('broken.jpg'))).toBeNull();
    expect(await imagePreviewFile(project, 999_999)).toBeNull();
  });

  it('says the original is gone when it was moved', async () => {
    const { rmSync } = await import('node:fs');
    rmSync(path.join(photos, 'unsorted', 'moth_a.jpg'));
    await expect(imagePreviewFile(project, id('moth_a.jpg'))).rejects.toThrow(/Cannot open .*moth_a\.jpg.*relink/);
  });
});
