import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createApiHandlers } from '../../src-main/services/api-handlers';
import { clusterProject } from '../../src-main/services/cluster-service';
import { Project } from '../../src-main/services/project';
import { blobs, temporaryFolder } from '../helpers/fixtures';

let project: Project;
let cleanup = () => {};

// 60 images in 2 separated blobs, clustered with k = 2 before any label exists.
beforeEach(async () => {
  const temporary = temporaryFolder();
  cleanup = temporary.cleanup;
  project = Project.open(path.join(temporary.folder, 'project'));
  const { store } = project;
  const { data } = blobs(60, 4, 2, 5);
  store.upsertImages(
    Array.from({ length: 60 }, (_, index) => ({
      path: `/p/${index}.jpg`, fileName: `${index}.jpg`, folder: '/p', sha256: `sha${index}`, sizeBytes: 1, width: 1, height: 1, status: 'ok' as const, error: null,
    })),
  );
  store.putEmbeddings('m', 4, Array.from({ length: 60 }, (_, index) => ({ sha256: `sha${index}`, vector: data.slice(index * 4, (index + 1) * 4) })));
  await clusterProject(store, 'm', { method: 'kmeans', k: 2, seed: 0, restarts: 2 });
});

afterEach(async () => {
  await project.close();
  cleanup();
});

it('scores the latest run again when labels change, and clears the scores when none is left', async () => {
  const api = createApiHandlers(project);
  expect(project.store.latestRun()!.metrics).toBeNull();
  const members = [...project.store.clusterMembers(project.store.latestRun()!.id)];
  // Label by cluster: a perfect match.
  const items = members.flatMap(([clusterId, images]) => images.map(({ imageId }) => ({ imageId, species: `species ${clusterId}` })));
  await api['labels:set']({ items });
  expect(project.store.latestRun()!.metrics).toMatchObject({ ari: 1, count: 60 });
  // Renaming one species into the other makes a single class: ARI 0 against two clusters.
  await api['species:rename']({ from: 'species 1', to: 'species 2' });
  expect(project.store.latestRun()!.metrics).toMatchObject({ ari: 0, count: 60 });
  await api['labels:set']({ items: items.map(({ imageId }) => ({ imageId, species: null })) });
  expect(project.store.latestRun()!.metrics).toBeNull();
});
