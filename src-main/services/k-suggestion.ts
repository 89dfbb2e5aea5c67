/**
 * Suggests a number of clusters for the project's latest embeddings by one of three criteria, with the
 * evidence for a plot: the eigengap of the kNN graph's normalised Laplacian (quick, one eigensolve), the mean
 * silhouette of K-means, or K-means' stability (mean pairwise ARI) across seeded subsamples. The last two fit
 * K-means at each candidate, so wide ranges are searched on a spaced grid of about a dozen candidates.
 */
import type { KCriterionName, KSuggestion } from '../contract/api';
import { estimateK } from '../core/clustering/estimate-k';
import { silhouetteK, stabilityK } from '../core/clustering/k-criteria';
import type { LongWorkOptions } from '../core/util/progress';
import type { ProjectStore } from './project-store';

/** Candidates tried by the K-means criteria at most. */
const GRID_SIZE = 12;

/** Every k in [2, maxK] when that is at most `size` values, else `size` values spaced evenly on a log scale. */
export function candidateGrid(maxK: number, size = GRID_SIZE): number[] {
  if (maxK - 1 <= size) return Array.from({ length: Math.max(0, maxK - 1) }, (_, index) => index + 2);
  const grid = Array.from({ length: size }, (_, index) => Math.round(2 * (maxK / 2) ** (index / (size - 1))));
  return [...new Set(grid)];
}

/** Estimates k on the embeddings of the latest run (so asking never starts an embedding pass). */
export async function suggestK(store: ProjectStore, options: LongWorkOptions & { criterion: KCriterionName; maxK?: number | undefined }): Promise<KSuggestion> {
  const run = store.latestRun();
  if (!run) throw new Error('Cluster once first (that embeds the photos), then ask for a suggested number of clusters.');
  const { imageIds, dims, data } = store.embeddingsForImages(run.modelId);
  if (imageIds.length < 12) throw new Error('Import at least a dozen photos before asking for a suggested number of clusters.');
  const vectors = { data, count: imageIds.length, dims };
  const { criterion, signal, onProgress } = options;
  if (criterion === 'eigengap') {
    const estimate = await estimateK(vectors, { maxK: options.maxK, signal, onProgress });
    return { k: estimate.k, criterion, ks: estimate.eigenvalues.map((_, index) => index + 1), values: estimate.eigenvalues, images: imageIds.length };
  }
  const maxK = Math.min(options.maxK ?? 50, imageIds.length - 1);
  const ks = candidateGrid(maxK);
  const found = criterion === 'silhouette' ? await silhouetteK(vectors, { ks, signal, onProgress }) : await stabilityK(vectors, { ks, signal, onProgress });
  return { k: found.k, criterion, ks: found.ks, values: found.values, images: imageIds.length };
}
