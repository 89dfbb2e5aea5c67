import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/db/database';
import {
  markClusterAsSpecies,
  mergeClusters,
  moveImages,
  renameClusterUndoable,
  splitCluster,
  undoLastEdit,
  undoableEdits,
} from '../../src-main/services/cluster-edit-service';
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

  it('marks a cluster as a species, and Undo restores the labels, the name and the scores exactly', () => {
    const labelRows = () =>
      store.database
        .prepare('SELECT l.image_id, s.name, l.source, l.created_at FROM labels l JOIN species s ON s.id = l.species_id ORDER BY l.image_id')
        .all();
    const clusterOf = (imageId: number) => [...store.clusterMembers(runId)].find(([, members]) => members.some((member) => member.imageId === imageId))![0];
    const imageIds = store.embeddingsForImages('m').imageIds;
    // Image 0's cluster: one member already carries the species (from a folder), another a different one.
    const target = clusterOf(imageIds[0]!);
    const members = store.clusterMembers(runId).get(target)!.map((member) => member.imageId);
    const outsider = imageIds.find((id) => clusterOf(id) !== target)!;
    store.setLabels([{ imageId: members[0]!, species: 'Noctua pronuba' }], 'folder');
    store.setLabels([{ imageId: members[1]!, species: 'Agrotis' }, { imageId: outsider, species: 'Agrotis' }], 'csv');
    const before = labelRows();
    expect(store.run(runId)!.metrics).toBeNull();

    expect(markClusterAsSpecies(store, runId, target, '  Noctua pronuba ')).toBe(29);
    const after = store.clusterMembers(runId).get(target)!;
    expect(after.every((member) => member.species === 'Noctua pronuba')).toBe(true);
    const sources = new Map(
      (store.database.prepare('SELECT image_id, source FROM labels').all() as { image_id: number; source: string }[]).map((row) => [row.image_id, row.source]),
    );
    expect(sources.get(members[0]!)).toBe('folder');
    expect(sources.get(members[1]!)).toBe('user');
    expect(sources.get(outsider)).toBe('csv');
    expect(store.clusterNames(runId).get(target)).toBe('Noctua pronuba');
    // 30 images of one species in one cluster, plus one Agrotis elsewhere: perfectly clustered.
    expect(store.run(runId)!.metrics).toMatchObject({ count: 31, ca: 1, ari: 1 });
    expect(undoableEdits(store, runId)).toBe(1);

    expect(undoLastEdit(store, runId)).toBe(`Labeled 29 images of cluster ${target} as Noctua pronuba`);
    expect(labelRows()).toEqual(before);
    expect(store.clusterNames(runId).size).toBe(0);
    // The species existed before (image members[0]), so it stays.
    expect(store.speciesCounts().map((entry) => entry.name).sort()).toEqual(['Agrotis', 'Noctua pronuba']);
  });

  it('removes a species that only the undone edit created, and clears scores no label supports', () => {
    markClusterAsSpecies(store, runId, 2, 'Mystery moth');
    expect(store.run(runId)!.metrics).toMatchObject({ count: 30, ca: 1 });
    undoLastEdit(store, runId);
    expect(store.database.prepare('SELECT count(*) FROM species').pluck().get()).toBe(0);
    expect(store.database.prepare('SELECT count(*) FROM labels').pluck().get()).toBe(0);
    expect(store.run(runId)!.metrics).toBeNull();
    expect(() => markClusterAsSpecies(store, runId, 2, '   ')).toThrow(/Type a species name/);
    expect(() => markClusterAsSpecies(store, runId, 42, 'x')).toThrow(/Cluster 42 has no images/);
  });

  it('refuses edits that make no sense, saying why', async () => {
    expect(() => mergeClusters(store, runId, [1])).toThrow(/at least two clusters/);
    await expect(splitCluster(store, runId, 9)).rejects.toThrow(/has 0 images/);
    expect(() => moveImages(store, runId, [9999], 1)).toThrow(/None of the selected images/);
    expect(() => mergeClusters(store, 999, [1, 2])).toThrow(/does not exist/);
  });
});
