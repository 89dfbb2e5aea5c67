import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/db/database';
import { mergeClusters, moveImages, renameClusterUndoable, splitCluster, undoLastEdit, undoableEdits } from '../../src-main/services/cluster-edit-service';
import { clusterProject } from '../../src-main/services/cluster-service';
import { ProjectStore } from '../../src-main/services/project-store';
import { blobs, temporaryFolder } from '../helpers/fixtures';

let store: ProjectStore;
let cleanup = () => {};
let runId: number;

// 90 images in 3 well separated blobs, stored with embeddings under model "m" and clustered with k = 3.
beforeEach(async () => {
  const temporary = temporaryFolder();
  cleanup = temporary.cleanup;
  store = new ProjectStore(openDatabase(path.join(temporary.folder, 'project.sqlite')));
  const { data } = blobs(90, 4, 3, 11);
  store.upsertImages(
    Array.from({ length: 90 }, (_, index) => ({
      path: `/p/${index}.jpg`, fileName: `${index}.jpg`, folder: '/p', sha256: `sha${index}`, sizeBytes: 1, width: 1, height: 1, status: 'ok' as const, error: null,
    })),
  );
  store.putEmbeddings('m', 4, Array.from({ length: 90 }, (_, index) => ({ sha256: `sha${index}`, vector: data.slice(index * 4, (index + 1) * 4) })));
  ({ runId } = await clusterProject(store, 'm', { method: 'kmeans', k: 3, seed: 0, restarts: 2 }));
});

afterEach(() => {
  store.database.close();
  cleanup();
});

const snapshot = () => store.database.prepare('SELECT image_id, cluster_id, distance FROM assignments WHERE run_id = ? ORDER BY image_id').all(runId);
const sizes = () => [...store.clusterMembers(runId)].map(([id, members]) => [id, members.length]).sort((a, b) => a[0]! - b[0]!);

describe('cluster edits', () => {
  it('merges, splits, moves, renames, and undoes each exactly', async () => {
    const original = snapshot();
    expect(sizes()).toEqual([[1, 30], [2, 30], [3, 30]]);

    renameClusterUndoable(store, runId, 1, 'Noctua');
    expect(mergeClusters(store, runId, [1, 2])).toEqual({ clusterId: 1, moved: 30 });
    expect(sizes()).toEqual([[1, 60], [3, 30]]);
    expect(store.clusterNames(runId).get(1)).toBe('Noctua');

    const { clusterIds } = await splitCluster(store, runId, 1, 2);
    expect(clusterIds).toEqual([1, 4]);
    // The merged blobs separate again.
    expect(sizes()).toEqual([[1, 30], [3, 30], [4, 30]]);

    expect(moveImages(store, runId, [1, 2], null).clusterId).toBe(5);
    expect(undoableEdits(store, runId)).toBe(4);

    expect(undoLastEdit(store, runId)).toMatch(/Moved 2 images/);
    expect(undoLastEdit(store, runId)).toMatch(/Split cluster 1/);
    expect(undoLastEdit(store, runId)).toMatch(/Merged clusters 2 into 1/);
    expect(undoLastEdit(store, runId)).toMatch(/Renamed cluster 1/);
    expect(undoLastEdit(store, runId)).toBeNull();
    expect(snapshot()).toEqual(original);
    expect(store.clusterNames(runId).size).toBe(0);
  });

  it('refuses edits that make no sense, saying why', async () => {
    expect(() => mergeClusters(store, runId, [1])).toThrow(/at least two clusters/);
    await expect(splitCluster(store, runId, 9)).rejects.toThrow(/has 0 images/);
    expect(() => moveImages(store, runId, [9999], 1)).toThrow(/None of the selected images/);
    expect(() => mergeClusters(store, 999, [1, 2])).toThrow(/does not exist/);
  });
});
