import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inspectImage } from '../../src-main/core/images/decode';
import { scanImageFolder } from '../../src-main/core/images/scan';
import { importFolder } from '../../src-main/services/import-service';
import { Project } from '../../src-main/services/project';
import { trainProject } from '../../src-main/services/train-service';
import { ONNX_MODEL, temporaryFolder, writeJpeg } from '../helpers/fixtures';

// The real inspection, which a test can hold back for one file to play a photo that is slow to decode.
vi.mock('../../src-main/core/images/decode', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src-main/core/images/decode')>();
  return { ...original, inspectImage: vi.fn(original.inspectImage) };
});
const realInspectImage = vi.mocked(inspectImage).getMockImplementation()!;

/** Runs `work` with the inspection of the file at `slowPath` taking `delayMs` longer. */
async function withSlowFile<T>(slowPath: string, delayMs: number, work: () => Promise<T>): Promise<T> {
  vi.mocked(inspectImage).mockImplementation(async (file, thumbnailPath) => {
    if (file === slowPath) await new Promise((resolve) => setTimeout(resolve, delayMs));
    return realInspectImage(file, thumbnailPath);
  });
  try {
    return await work();
  } finally {
    vi.mocked(inspectImage).mockImplementation(realInspectImage);
  }
}

const temporary = temporaryFolder();
// 2 species x 60 photos: more than one write batch (100 rows).
const photos = path.join(temporary.folder, 'photos');
// Scan position 90: while it decodes, the photos after it finish and would fill the first batch without it.
const slowPhoto = path.join(photos, 'species 1', '030.jpg');
let fourAtOnce: Project;
let oneAtATime: Project;

async function importedProject(name: string, concurrency: number): Promise<Project> {
  const project = Project.open(path.join(temporary.folder, name), ONNX_MODEL);
  await importFolder(project.store, photos, { labelsFromFolders: true, thumbnailPath: (sha) => project.thumbnailPath(sha), concurrency });
  return project;
}

const pathsById = (project: Project) => project.store.database.prepare('SELECT path FROM images ORDER BY id').pluck().all() as string[];

beforeAll(async () => {
  for (let group = 0; group < 2; group++) {
    const folder = path.join(photos, `species ${group}`);
    mkdirSync(folder, { recursive: true });
    for (let index = 0; index < 60; index++) await writeJpeg(path.join(folder, `${String(index).padStart(3, '0')}.jpg`), group * 100 + index);
  }
  fourAtOnce = await withSlowFile(slowPhoto, 300, () => importedProject('four-at-once', 4));
  oneAtATime = await importedProject('one-at-a-time', 1);
});

afterAll(async () => {
  await fourAtOnce?.close();
  await oneAtATime?.close();
  temporary.cleanup();
});

describe('importFolder', () => {
  it('numbers images in scan order, however long each file takes to decode', async () => {
    const scanned = (await scanImageFolder(photos)).map((entry) => entry.path);
    expect(scanned).toHaveLength(120);
    expect(pathsById(fourAtOnce)).toEqual(scanned);
    expect(pathsById(oneAtATime)).toEqual(scanned);
    expect(fourAtOnce.store.speciesCounts().map((species) => species.name)).toEqual(['species 0', 'species 1']);
  });

  it('keeps fewer than a batch of inspected files unwritten while a slow one holds the rest back', async () => {
    // A crash loses what is inspected but not yet written: a slow first file must not let that grow.
    const slowFirst = path.join(temporary.folder, 'slow-first');
    mkdirSync(slowFirst);
    for (let index = 0; index <= 160; index++) await writeJpeg(path.join(slowFirst, `${String(index).padStart(3, '0')}.jpg`), 500 + index);
    const project = Project.open(path.join(temporary.folder, 'slow-first-project'), ONNX_MODEL);
    const rows = project.store.database.prepare('SELECT count(*) FROM images').pluck();
    const unwritten: number[] = [];
    try {
      await withSlowFile(path.join(slowFirst, '000.jpg'), 500, () =>
        importFolder(project.store, slowFirst, {
          labelsFromFolders: false,
          thumbnailPath: (sha) => project.thumbnailPath(sha),
          onProgress: (progress) => {
            const inspected = /^Imported (\d+)/.exec(progress.message)?.[1];
            if (inspected) unwritten.push(Number(inspected) - (rows.get() as number));
          },
        }),
      );
      expect(unwritten.length).toBeGreaterThan(10);
      expect(Math.max(...unwritten)).toBeLessThan(100);
      expect(pathsById(project)[0]).toBe(path.join(slowFirst, '000.jpg'));
      expect(rows.get()).toBe(161);
    } finally {
      await project.close();
    }
  });

  it('trains the same adapter for a seed whether the photos were imported one at a time or four at once', async () => {
    const options = { way: 2, shot: 5, query: 6, tasksPerEpoch: 8, epochs: 2, seed: 1 };
    const first = await trainProject(fourAtOnce, options);
    const second = await trainProject(oneAtATime, options);
    expect(second.history.map((record) => record.loss)).toEqual(first.history.map((record) => record.loss));
    expect(second.history.map((record) => record.accuracy)).toEqual(first.history.map((record) => record.accuracy));
    expect(oneAtATime.store.checkpoint(second.checkpointId)!.weights.equals(fourAtOnce.store.checkpoint(first.checkpointId)!.weights)).toBe(true);
  });
});
