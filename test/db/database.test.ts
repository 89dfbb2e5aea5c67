import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/db/database';
import { MIGRATIONS } from '../../src-main/db/migrations';
import { ProjectStore } from '../../src-main/services/project-store';
import { temporaryFolder } from '../helpers/fixtures';

let cleanup = () => {};
afterEach(() => cleanup());

function freshStore() {
  const temporary = temporaryFolder();
  cleanup = temporary.cleanup;
  const file = path.join(temporary.folder, 'project.sqlite');
  return { file, store: new ProjectStore(openDatabase(file)) };
}

const image = (name: string, sha256: string | null, status: 'ok' | 'error' = 'ok') => ({
  path: `/photos/${name}`,
  fileName: name,
  folder: '/photos',
  sha256,
  sizeBytes: 10,
  width: 4,
  height: 4,
  status,
  error: status === 'error' ? 'broken' : null,
});

describe('openDatabase', () => {
  it('uses WAL, foreign keys and the latest schema version', () => {
    const { store } = freshStore();
    expect(store.database.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.database.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.database.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    store.database.close();
  });

  it('refuses a database from a newer app version with a clear message', () => {
    const { file, store } = freshStore();
    store.database.close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    expect(() => openDatabase(file)).toThrow(/newer version of Specimen Sorter/);
  });
});

describe('ProjectStore', () => {
  it('stores embeddings as float32 blobs keyed by content hash and model', () => {
    const { store } = freshStore();
    const [first, second] = store.upsertImages([image('a.jpg', 'aa'), image('b.jpg', 'bb')]);
    store.upsertImages([image('broken.jpg', null, 'error')]);
    store.putEmbeddings('model-1', 3, [
      { sha256: 'aa', vector: Float32Array.from([1, 2, 3]) },
      { sha256: 'bb', vector: Float32Array.from([4, 5, 6]) },
    ]);
    const embedded = store.embeddingsForImages('model-1');
    expect(embedded.imageIds).toEqual([first, second]);
    expect(Array.from(embedded.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(store.embeddingsForImages('model-2').imageIds).toEqual([]);
    expect(store.imagesMissingEmbedding('model-2').map((row) => row.sha256)).toEqual(['aa', 'bb']);
    expect(store.counts()).toMatchObject({ imageCount: 3, failedCount: 1 });
    store.database.close();
  });

  it('keeps one label per image with its source, and runs with assignments, names and metrics', () => {
    const { store } = freshStore();
    const ids = store.upsertImages([image('a.jpg', 'aa'), image('b.jpg', 'bb'), image('c.jpg', 'cc')]);
    store.setLabels([{ imageId: ids[0]!, species: 'Aglia tau' }, { imageId: ids[1]!, species: 'Aglia tau' }], 'folder');
    store.setLabels([{ imageId: ids[1]!, species: 'Acronicta psi' }], 'user');
    const runId = store.saveRun({ method: 'kmeans', k: 2, seed: 7, modelId: 'm', parameters: {} }, [
      { imageId: ids[0]!, clusterId: 1, distance: 0.5 },
      { imageId: ids[1]!, clusterId: 2, distance: 0.25 },
      { imageId: ids[2]!, clusterId: 2, distance: 1 },
    ]);
    expect(store.labeledAssignments(runId)).toEqual([
      { species: 'Aglia tau', clusterId: 1 },
      { species: 'Acronicta psi', clusterId: 2 },
    ]);
    expect(store.renameCluster(runId, 2, '  Psi group ')).toBe('Psi group');
    expect(store.renameCluster(runId, 1, '')).toBe('Cluster 1');
    const rows = store.exportRows(runId);
    expect(rows.map((row) => [row.fileName, row.clusterId, row.clusterName, row.speciesLabel, row.labelSource])).toEqual([
      ['a.jpg', 1, null, 'Aglia tau', 'folder'],
      ['b.jpg', 2, 'Psi group', 'Acronicta psi', 'user'],
      ['c.jpg', 2, 'Psi group', null, null],
    ]);
    store.setRunMetrics(runId, { ca: 1, nmi: 1, ami: 1, ari: 1, count: 2 });
    expect(store.latestRun()).toMatchObject({ id: runId, k: 2, seed: 7, metrics: { ari: 1 } });
    expect(store.listImages(0, 10, { clusterId: 2 }).images.map((row) => row.fileName)).toEqual(['b.jpg', 'c.jpg']);
    store.database.close();
  });
});
