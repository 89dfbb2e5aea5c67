import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/db/database';
import { markClusterAsSpecies, renameClusterUndoable } from '../../src-main/services/cluster-edit-service';
import { clusterProject } from '../../src-main/services/cluster-service';
import { confusion } from '../../src-main/services/evaluate-service';
import { ProjectStore } from '../../src-main/services/project-store';
import { blobs, temporaryFolder } from '../helpers/fixtures';

let store: ProjectStore;
let cleanup = () => {};
/** Image ids of each blob, in id order: 30, 20 and 10 images. */
let blobImages: number[][];

// Three well separated blobs of 30, 20 and 10 images under model "m" (row r of `blobs` lies in blob r % 3).
beforeEach(() => {
  const temporary = temporaryFolder();
  cleanup = temporary.cleanup;
  store = new ProjectStore(openDatabase(path.join(temporary.folder, 'project.sqlite')));
  const { data, labels } = blobs(90, 4, 3, 11);
  const kept = Array.from({ length: 90 }, (_, row) => row).filter((row) => {
    const rank = Math.floor(row / 3);
    return labels[row] === 0 || (labels[row] === 1 && rank < 20) || (labels[row] === 2 && rank < 10);
  });
  const ids = store.upsertImages(
    kept.map((row) => ({
      path: `/p/${row}.jpg`, fileName: `${row}.jpg`, folder: '/p', sha256: `sha${row}`, sizeBytes: 1, width: 1, height: 1, status: 'ok' as const, error: null,
    })),
  );
  store.putEmbeddings('m', 4, kept.map((row) => ({ sha256: `sha${row}`, vector: data.slice(row * 4, (row + 1) * 4) })));
  blobImages = [0, 1, 2].map((blob) => ids.filter((_, index) => labels[kept[index]!] === blob));
});

afterEach(() => {
  store.database.close();
  cleanup();
});

const clusterOf = (runId: number, imageId: number) =>
  [...store.clusterMembers(runId)].find(([, members]) => members.some((member) => member.imageId === imageId))![0];

describe('confusion', () => {
  it('is empty before any clustering', () => {
    expect(confusion(store)).toEqual({ runId: null, species: [], clusters: [], counts: [], unlabeled: [] });
  });

  it('counts species per cluster, largest cluster first, species along the diagonal', async () => {
    const [large, middle, small] = blobImages as [number[], number[], number[]];
    expect([large.length, middle.length, small.length]).toEqual([30, 20, 10]);
    // Names chosen so that alphabetical order is not the diagonal order.
    store.setLabels(large.slice(0, 5).map((imageId) => ({ imageId, species: 'Zygaena' })), 'folder');
    store.setLabels(middle.slice(0, 4).map((imageId) => ({ imageId, species: 'Agrotis' })), 'folder');
    store.setLabels(small.slice(0, 3).map((imageId) => ({ imageId, species: 'Mythimna' })), 'folder');
    store.setLabels([{ imageId: small[3]!, species: 'Agrotis' }], 'user');
    const { runId } = await clusterProject(store, 'm', { method: 'kmeans', k: 3, seed: 0, restarts: 2 });
    renameClusterUndoable(store, runId, clusterOf(runId, middle[0]!), 'Noctuids');

    const result = confusion(store);
    expect(result.runId).toBe(runId);
    expect(result.clusters).toEqual([
      { clusterId: clusterOf(runId, large[0]!), name: `Cluster ${clusterOf(runId, large[0]!)}`, size: 30 },
      { clusterId: clusterOf(runId, middle[0]!), name: 'Noctuids', size: 20 },
      { clusterId: clusterOf(runId, small[0]!), name: `Cluster ${clusterOf(runId, small[0]!)}`, size: 10 },
    ]);
    expect(result.species).toEqual(['Zygaena', 'Agrotis', 'Mythimna']);
    expect(result.counts).toEqual([
      [5, 0, 0],
      [0, 4, 0],
      [0, 1, 3],
    ]);
    expect(result.unlabeled).toEqual([25, 16, 6]);
  });

  it('follows the latest run and its edits', async () => {
    await clusterProject(store, 'm', { method: 'kmeans', k: 3, seed: 0, restarts: 2 });
    const { runId } = await clusterProject(store, 'm', { method: 'kmeans', k: 2, seed: 1, restarts: 2 });
    const before = confusion(store);
    expect(before.runId).toBe(runId);
    expect(before.species).toEqual([]);
    expect(before.clusters).toHaveLength(2);
    expect(before.counts).toEqual([[], []]);
    expect(before.unlabeled.reduce((sum, count) => sum + count, 0)).toBe(60);

    const clusterId = before.clusters[1]!.clusterId;
    markClusterAsSpecies(store, runId, clusterId, 'Hepialus');
    const after = confusion(store);
    expect(after.species).toEqual(['Hepialus']);
    expect(after.clusters[1]).toEqual({ clusterId, name: 'Hepialus', size: before.clusters[1]!.size });
    expect(after.counts).toEqual([[0], [before.clusters[1]!.size]]);
    expect(after.unlabeled).toEqual([before.clusters[0]!.size, 0]);
  });
});

describe('listRuns', () => {
  it('lists every run newest first, with scores and undoable edits, built as latestRun builds them', async () => {
    expect(store.listRuns()).toEqual([]);
    store.setLabels(blobImages[0]!.slice(0, 3).map((imageId) => ({ imageId, species: 'Zygaena' })), 'folder');
    store.setLabels(blobImages[1]!.slice(0, 3).map((imageId) => ({ imageId, species: 'Agrotis' })), 'folder');
    const first = await clusterProject(store, 'm', { method: 'kmeans', k: 3, seed: 0, restarts: 2 });
    const second = await clusterProject(store, 'm', { method: 'spectral', k: 2, seed: 4 });
    renameClusterUndoable(store, second.runId, 1, 'A');
    renameClusterUndoable(store, second.runId, 2, 'B');

    const runs = store.listRuns();
    expect(runs.map((run) => [run.id, run.method, run.k, run.seed, run.modelId, run.undoable])).toEqual([
      [second.runId, 'spectral', 2, 4, 'm', 2],
      [first.runId, 'kmeans', 3, 0, 'm', 0],
    ]);
    expect(runs[0]).toEqual(store.latestRun());
    expect(runs[1]!.metrics).toEqual(first.metrics);
    expect(runs[1]!.metrics).toMatchObject({ count: 6, ca: 1, ari: 1 });
  });
});
