/**
 * Estimates the number of clusters by the eigengap heuristic (von Luxburg 2007, section 8.3): the smallest
 * eigenvalues of the normalised Laplacian of the kNN graph stay near 0 for as many eigenvectors as there
 * are well separated groups, then jump; k is where the largest jump is.
 */
import type { LongWorkOptions } from '../util/progress';
import type { VectorSet } from './kmeans';
import { spectralClustering } from './spectral';

/** The chosen k and the evidence behind it (Laplacian eigenvalues, smallest first, and the gaps between them). */
export interface KEstimate {
  k: number;
  eigenvalues: number[];
  gaps: number[];
}

/**
 * Picks k in [2, maxK] by the largest gap between consecutive eigenvalues.
 *
 * await estimateK(vectors, { maxK: 20 }) // { k: 7, eigenvalues: [0, 0.001, ..., 0.3], gaps: [...] }
 */
export async function estimateK(vectors: VectorSet, options: LongWorkOptions & { maxK?: number; neighbors?: number; seed?: number } = {}): Promise<KEstimate> {
  // The eigensolver needs a block well below the number of points.
  const maxK = Math.max(3, Math.min(options.maxK ?? 50, Math.floor(vectors.count / 4)));
  const result = await spectralClustering(vectors, {
    k: maxK + 1,
    neighbors: Math.min(options.neighbors ?? 10, vectors.count - 1),
    seed: options.seed ?? 0,
    signal: options.signal,
    onProgress: options.onProgress,
  });
  const eigenvalues = Array.from(result.eigenvalues).sort((a, b) => a - b);
  // gaps[i - 1] is the jump after the i-th smallest eigenvalue: a large one means i groups.
  const gaps = eigenvalues.slice(0, -1).map((value, index) => eigenvalues[index + 1]! - value);
  let k = 2;
  for (let candidate = 2; candidate <= maxK; candidate++) if (gaps[candidate - 1]! > gaps[k - 1]!) k = candidate;
  return { k, eigenvalues, gaps };
}
