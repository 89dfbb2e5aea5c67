import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { principalComponents } from '../../src-main/core/projection/pca';
import { createApiHandlers } from '../../src-main/services/api-handlers';
import { moveImages } from '../../src-main/services/cluster-edit-service';
import { clusterProject } from '../../src-main/services/cluster-service';
import { mapPoints } from '../../src-main/services/map-service';
import { Project } from '../../src-main/services/project';
import { blobs, temporaryFolder } from '../helpers/fixtures';

const temporary = temporaryFolder();
let project: Project;
const dims = 8;
const { data, labels: blobOf } = blobs(100, dims, 3, 7);

/** Stores images 0..count-1 of the fixture with their embeddings under model "m". */
function addImages(from: number, to: number): number[] {
  const ids = project.store.upsertImages(
    Array.from({ length: to - from }, (_, offset) => ({
      path: `/photos/${from + offset}.jpg`, fileName: `${from + offset}.jpg`, folder: '/photos', sha256: `sha${from + offset}`,
      sizeBytes: 1, width: 1, height: 1, status: 'ok' as const, error: null,
    })),
  );
  project.store.putEmbeddings('m', dims, ids.map((_, offset) => ({ sha256: `sha${from + offset}`, vector: data.slice((from + offset) * dims, (from + offset + 1) * dims) })));
  return ids;
}

beforeAll(() => {
  project = Project.open(path.join(temporary.folder, 'project'));
});

afterAll(async () => {
  await project.close();
  temporary.cleanup();
});

describe('mapPoints', () => {
  it('asks the user to cluster first when nothing was clustered', async () => {
    addImages(0, 90);
    await expect(mapPoints(project, { method: 'pca', seed: 0 })).rejects.toThrow(/Cluster the photos first/);
  });

  it('draws every embedded image of the latest run with its cluster and label, and keeps the blobs apart', async () => {
    project.store.setLabels([{ imageId: 1, species: 'Aglia tau' }, { imageId: 2, species: 'Arctia caja' }], 'user');
    const { runId } = await clusterProject(project.store, 'm', { method: 'kmeans', k: 3, seed: 0, restarts: 2 });
    const map = await mapPoints(project, { method: 'pca', seed: 0 });
    expect(map.method).toBe('pca');
    expect(map.modelId).toBe('m');
    expect(map.imageIds).toHaveLength(90);
    expect(map.x).toHaveLength(90);
    expect(map.y).toHaveLength(90);
    const clusterOf = new Map([...project.store.clusterMembers(runId)].flatMap(([clusterId, members]) => members.map((member) => [member.imageId, clusterId])));
    expect(map.clusterIds).toEqual(map.imageIds.map((imageId) => clusterOf.get(imageId)));
    expect(map.species[map.imageIds.indexOf(1)]).toBe('Aglia tau');
    expect(map.species[map.imageIds.indexOf(2)]).toBe('Arctia caja');
    expect(map.species.filter((species) => species !== null)).toHaveLength(2);
    expect(map.fileNames).toEqual(map.imageIds.map((imageId) => project.store.image(imageId)!.fileName));

    // Under 5,000 embeddings the axes come from every row: the same map as power-iteration PCA, up to sign.
    const reference = principalComponents({ data: data.slice(0, 90 * dims), count: 90, dims }, 2);
    for (let row = 0; row < 90; row++) {
      expect(Math.abs(map.x[row]!)).toBeCloseTo(Math.abs(reference.coordinates[row * 2]!), 2);
      expect(Math.abs(map.y[row]!)).toBeCloseTo(Math.abs(reference.coordinates[row * 2 + 1]!), 2);
    }
    // Each point's nearest neighbour on the map comes from the same blob.
    let sameBlob = 0;
    for (let row = 0; row < 90; row++) {
      let nearest = -1;
      let best = Infinity;
      for (let other = 0; other < 90; other++) {
        const distance = (map.x[row]! - map.x[other]!) ** 2 + (map.y[row]! - map.y[other]!) ** 2;
        if (other !== row && distance < best) [nearest, best] = [other, distance];
      }
      if (blobOf[row] === blobOf[nearest]) sameBlob++;
    }
    expect(sameBlob).toBe(90);
  });

  it('reuses the projection when the tab opens again, yet shows new clusters and labels', async () => {
    const first = await mapPoints(project, { method: 'pca', seed: 0 });
    const runId = project.store.latestRun()!.id;
    const { clusterId } = moveImages(project.store, runId, [first.imageIds[0]!, first.imageIds[1]!], null);
    project.store.setLabels([{ imageId: first.imageIds[5]!, species: 'Noctua pronuba' }], 'user');
    const second = await mapPoints(project, { method: 'pca', seed: 0 });
    expect(second.x).toBe(first.x);
    expect(second.y).toBe(first.y);
    expect(second.clusterIds.slice(0, 2)).toEqual([clusterId, clusterId]);
    expect(second.species[5]).toBe('Noctua pronuba');
    // Another seed is another cache entry, with the same axes up to sign on this small set.
    const reseeded = await mapPoints(project, { method: 'pca', seed: 1 });
    expect(reseeded.x).not.toBe(first.x);
    expect(Math.abs(reseeded.x[3]!)).toBeCloseTo(Math.abs(first.x[3]!), 3);
  });

  it('projects again once more images are embedded and clustered, through the map:points channel', async () => {
    const before = await mapPoints(project, { method: 'pca', seed: 0 });
    const added = addImages(90, 100);
    await clusterProject(project.store, 'm', { method: 'kmeans', k: 3, seed: 0, restarts: 2 });
    const after = await createApiHandlers(project)['map:points']({});
    expect(after.x).not.toBe(before.x);
    expect(after.imageIds).toHaveLength(100);
    expect(after.imageIds.slice(-10)).toEqual(added);
    expect(after.clusterIds.every((clusterId) => clusterId !== null && clusterId >= 1 && clusterId <= 3)).toBe(true);
  });

  it('says plainly that UMAP is not offered', async () => {
    await expect(mapPoints(project, { method: 'umap', seed: 0 })).rejects.toThrow(/UMAP .* not available.*use PCA/);
  });
});
