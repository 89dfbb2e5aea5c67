/**
 * The Map view's data: every embedded image as a point in 2-D, in the embedding space of the latest cluster
 * run, with its cluster and species label. The projection is cached in memory per (model, method, seed,
 * number of embeddings), so opening the tab again is instant; clusters and labels are read fresh each time,
 * since edits and labeling change them without changing the embeddings.
 */
import type { MapPoints } from '../contract/api';
import { sampledPrincipalComponents } from '../core/projection/sampled-pca';
import type { Project } from './project';
import type { ProjectStore } from './project-store';

/** The 2-D coordinates of every embedded image of a model. */
export interface Projection {
  imageIds: number[];
  x: number[];
  y: number[];
}

/** Computes a projection; the app passes one that runs in the job worker (see api-handlers.ts). */
export type ProjectionCompute = (modelId: string, seed: number) => Promise<Projection>;

/** Projects the embeddings of `modelId` to 2-D by PCA (axes from a seeded sample of at most 5,000). */
export function computeProjection(store: ProjectStore, modelId: string, seed: number): Projection {
  const { imageIds, dims, data } = store.embeddingsForImages(modelId);
  if (imageIds.length === 0) throw new Error('No photo of the latest clustering run has an embedding any more; cluster again.');
  const { coordinates } = sampledPrincipalComponents({ data, count: imageIds.length, dims }, { components: 2, seed });
  return {
    imageIds,
    x: Array.from({ length: imageIds.length }, (_, row) => coordinates[row * 2]!),
    y: Array.from({ length: imageIds.length }, (_, row) => coordinates[row * 2 + 1]!),
  };
}

/** Projections kept per project; a few, newest last, so switching models does not grow memory without bound. */
const MAX_CACHED_PROJECTIONS = 4;
const cache = new WeakMap<Project, Map<string, Projection>>();

/**
 * Map points of the latest run's embedding space. PCA finds the axes on a seeded sample of at most 5,000
 * embeddings and projects all of them (50,000 x 1280 in about 1 to 4 s, once; see bench/ui.ts).
 *
 * await mapPoints(project, { method: 'pca', seed: 0 }) // { method: 'pca', modelId, imageIds: [1, 2, ...], fileNames: ['a.jpg', ...], x, y, clusterIds: [3, 1, ...], species: ['Aglia tau', null, ...] }
 */
export async function mapPoints(
  project: Project,
  options: { method: 'pca' | 'umap'; seed: number },
  compute: ProjectionCompute = async (modelId, seed) => computeProjection(project.store, modelId, seed),
): Promise<MapPoints> {
  const { store } = project;
  const run = store.latestRun();
  if (!run) throw new Error('Cluster the photos first: clustering embeds them, and the map draws those embeddings.');
  if (options.method === 'umap') {
    // umap-js would take minutes at 50,000 points on two cores, so the map offers PCA only for now.
    throw new Error('UMAP maps are not available in this version; use PCA.');
  }
  // Which embeddings the map holds changes only with a new run (which embeds what is missing) or with images
  // added or removed; both are cheap to read, unlike a count of embeddings (a lookup per image in a table of
  // large rows: seconds at 50,000 images).
  const { imageCount, failedCount } = store.counts();
  const key = JSON.stringify([run.modelId, options.method, options.seed, run.id, imageCount - failedCount]);
  let projections = cache.get(project);
  if (!projections) cache.set(project, (projections = new Map()));
  let projection = projections.get(key);
  if (!projection) {
    projection = await compute(run.modelId, options.seed);
    projections.set(key, projection);
    while (projections.size > MAX_CACHED_PROJECTIONS) projections.delete(projections.keys().next().value!);
  } else {
    // Newest last, so the least recently used is dropped first.
    projections.delete(key);
    projections.set(key, projection);
  }
  const annotations = store.mapAnnotations(run.id);
  return {
    method: options.method,
    modelId: run.modelId,
    imageIds: projection.imageIds,
    fileNames: projection.imageIds.map((imageId) => annotations.get(imageId)?.fileName ?? ''),
    x: projection.x,
    y: projection.y,
    clusterIds: projection.imageIds.map((imageId) => annotations.get(imageId)?.clusterId ?? null),
    species: projection.imageIds.map((imageId) => annotations.get(imageId)?.species ?? null),
  };
}
