/** Clusters a project's embeddings, stores the run, and scores it against known labels. */
import { kmeans, type VectorSet } from '../core/clustering/kmeans';
import { seededKmeans } from '../core/clustering/seeded-kmeans';
import { spectralClustering } from '../core/clustering/spectral';
import { scoreClustering } from '../core/metrics/clustering-metrics';
import type { LongWorkOptions } from '../core/util/progress';
import type { ClusterMethod, ClusterMetrics } from '../contract/api';
import type { ProjectStore } from './project-store';

/** Clustering settings. */
export interface ClusterOptions extends LongWorkOptions {
  method: ClusterMethod;
  k: number;
  seed: number;
  /** K-means restarts. Default 10. */
  restarts?: number;
}

/** Clusters every embedded image of the project; returns the new run's id and its scores (null without labels). */
export async function clusterProject(
  store: ProjectStore,
  modelId: string,
  options: ClusterOptions,
): Promise<{ runId: number; metrics: ClusterMetrics | null; clusterCount: number }> {
  const { method, k, seed, restarts = 10, signal, onProgress } = options;
  const { imageIds, dims, data } = store.embeddingsForImages(modelId);
  if (imageIds.length === 0) throw new Error('No embedded images to cluster: import a folder of photos first.');
  if (k > imageIds.length) {
    throw new Error(`Cannot make ${k} clusters from ${imageIds.length} images: choose a number of clusters of at most ${imageIds.length}.`);
  }
  const vectors = { data, count: imageIds.length, dims };
  let result: { labels: Int32Array; distances: Float32Array };
  let parameters: Record<string, unknown>;
  if (method === 'seeded') {
    const seeded = await seededFromLabels(store, imageIds, vectors, k, seed, options);
    result = seeded.result;
    parameters = { labeledSpecies: seeded.species.length };
    const runId = store.saveRun({ method, k: seeded.k, seed, modelId, parameters }, imageIds.map((imageId, index) => ({
      imageId,
      clusterId: result.labels[index]! + 1,
      distance: result.distances[index]!,
    })));
    // Each labeled species names its cluster; the others are proposals.
    seeded.species.forEach((name, index) => store.renameCluster(runId, index + 1, name));
    for (let cluster = seeded.species.length + 1; cluster <= seeded.k; cluster++) {
      store.renameCluster(runId, cluster, `Candidate new species ${cluster - seeded.species.length}`);
    }
    return { runId, metrics: evaluateRun(store, runId), clusterCount: seeded.k };
  } else if (method === 'spectral') {
    const spectral = await spectralClustering(vectors, { k, seed, neighbors: Math.min(10, imageIds.length - 1), signal, onProgress });
    result = { labels: spectral.labels, distances: distancesToCentroids(vectors, spectral.labels, k) };
    parameters = { neighbors: 10, assignLabels: 'cluster_qr', converged: spectral.converged, seconds: spectral.seconds };
  } else {
    const fitted = await kmeans(vectors, { k, seed, restarts, signal, onProgress });
    result = fitted;
    parameters = { restarts, inertia: fitted.inertia, iterations: fitted.iterations };
  }
  const runId = store.saveRun(
    { method, k, seed, modelId, parameters },
    imageIds.map((imageId, index) => ({ imageId, clusterId: result.labels[index]! + 1, distance: result.distances[index]! })),
  );
  return { runId, metrics: evaluateRun(store, runId), clusterCount: k };
}

/** Seeded K-means from the human labels of the clustered images: k is at least the number of labeled species. */
async function seededFromLabels(
  store: ProjectStore,
  imageIds: number[],
  vectors: VectorSet,
  k: number,
  seed: number,
  options: LongWorkOptions,
): Promise<{ result: { labels: Int32Array; distances: Float32Array }; species: string[]; k: number }> {
  const labels = new Map(store.labeledImages().map((image) => [image.imageId, image.species]));
  const species = [...new Set(imageIds.flatMap((id) => (labels.has(id) ? [labels.get(id)!] : [])))].sort();
  if (species.length === 0) throw new Error('Seeded clustering needs labeled images: label a few photos of each species you know first.');
  const seeds = Int32Array.from(imageIds, (id) => (labels.has(id) ? species.indexOf(labels.get(id)!) : -1));
  const total = Math.max(k, species.length);
  const result = await seededKmeans(vectors, { k: total, seeds, seed, signal: options.signal, onProgress: options.onProgress });
  return { result, species, k: total };
}

/** Euclidean distance of each vector to the mean of its cluster (spectral clustering has no centers of its own). */
export function distancesToCentroids(vectors: VectorSet, labels: Int32Array, k: number): Float32Array {
  const { data, count, dims } = vectors;
  const sums = new Float64Array(k * dims);
  const sizes = new Int32Array(k);
  for (let row = 0; row < count; row++) {
    const label = labels[row]!;
    sizes[label] = sizes[label]! + 1;
    for (let index = 0; index < dims; index++) sums[label * dims + index] = sums[label * dims + index]! + data[row * dims + index]!;
  }
  const distances = new Float32Array(count);
  for (let row = 0; row < count; row++) {
    const label = labels[row]!;
    let sum = 0;
    for (let index = 0; index < dims; index++) sum += (data[row * dims + index]! - sums[label * dims + index]! / sizes[label]!) ** 2;
    distances[row] = Math.sqrt(sum);
  }
  return distances;
}

/** Scores a run against the known labels of its images and stores the scores; null when no image is labeled. */
export function evaluateRun(store: ProjectStore, runId: number): ClusterMetrics | null {
  const pairs = store.labeledAssignments(runId);
  if (pairs.length === 0) return null;
  const metrics = scoreClustering(
    pairs.map((pair) => pair.species),
    pairs.map((pair) => pair.clusterId),
  );
  store.setRunMetrics(runId, metrics);
  return metrics;
}
