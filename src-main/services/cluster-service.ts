/** Clusters a project's embeddings, stores the run, and scores it against known labels. */
import { kmeans } from '../core/clustering/kmeans';
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
  const result = await kmeans({ data, count: imageIds.length, dims }, { k, seed, restarts, signal, onProgress });
  const runId = store.saveRun(
    { method, k, seed, modelId, parameters: { restarts, inertia: result.inertia, iterations: result.iterations } },
    imageIds.map((imageId, index) => ({ imageId, clusterId: result.labels[index]! + 1, distance: result.distances[index]! })),
  );
  return { runId, metrics: evaluateRun(store, runId), clusterCount: k };
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
