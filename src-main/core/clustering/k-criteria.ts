/**
 * Choosing the number of clusters besides the eigengap (estimate-k.ts): the mean silhouette of K-means over a
 * range of k (Rousseeuw 1987), and the stability of K-means across seeded subsamples (Ben-Hur, Elisseeff and
 * Guyon 2002: a k that matches the data's structure gives the same partition from different subsamples).
 * Each returns the chosen k and the criterion at every k tried, the evidence for a plot.
 */
import { adjustedRandIndex } from '../metrics/clustering-metrics';
import { silhouetteScore } from '../metrics/silhouette';
import { type LongWorkOptions, throwIfCancelled } from '../util/progress';
import { deriveSeed, sampleRows, seededRandom } from '../util/random';
import { gatherRows } from '../util/rows';
import { kmeans, type VectorSet } from './kmeans';
import { fastestKernel, type MatrixKernel } from './matrix-kernel';

/** The chosen k and the criterion at each k tried (ks ascending, values parallel). */
export interface KCriterion {
  k: number;
  ks: number[];
  values: number[];
}

/** Settings shared by the criteria. */
export interface KRangeOptions extends LongWorkOptions {
  /** Smallest k tried, at least 2. Default 2. */
  minK?: number;
  /** Largest k tried; clamped below the number of images. Default 20. */
  maxK?: number;
  /** The candidates to try instead of every k in [minK, maxK] (for a wide range, a spaced grid). */
  ks?: number[];
  /** Seed of K-means and of the subsamples. Default 0. */
  seed?: number;
  /** K-means restarts per fit. Default 3. */
  restarts?: number;
  /** Matrix-product kernel; default the fastest available. */
  kernel?: MatrixKernel;
}

/** The rows `rows` of a vector set, as a new set. */
function subset(vectors: VectorSet, rows: ArrayLike<number>): VectorSet {
  return { data: gatherRows(vectors.data, vectors.dims, rows), count: rows.length, dims: vectors.dims };
}

function kRange(count: number, options: KRangeOptions): number[] {
  if (options.ks) {
    const ks = [...new Set(options.ks)].filter((k) => Number.isInteger(k) && k >= 2 && k < count).sort((a, b) => a - b);
    if (ks.length === 0) throw new Error(`None of the numbers of clusters ${options.ks.join(', ')} can be tried on ${count} images.`);
    return ks;
  }
  const minK = Math.max(2, options.minK ?? 2);
  const maxK = Math.min(options.maxK ?? 20, count - 1);
  if (maxK < minK) throw new Error(`Cannot compare numbers of clusters from ${minK} to ${maxK} on ${count} images: choose a smaller range.`);
  return Array.from({ length: maxK - minK + 1 }, (_, index) => minK + index);
}

/**
 * Picks the k in [minK, maxK] whose K-means partition has the highest mean silhouette (in [-1, 1]; higher
 * means tighter, better separated clusters). Above `sampleSize` images the silhouette is measured on a seeded
 * sample of them (scikit-learn's silhouette_score sample_size), as it costs N^2 D.
 *
 * await silhouetteK(vectors, { minK: 2, maxK: 8 }) // { k: 4, ks: [2, ..., 8], values: [0.41, 0.52, 0.68, 0.55, ...] }
 */
export async function silhouetteK(vectors: VectorSet, options: KRangeOptions & { sampleSize?: number } = {}): Promise<KCriterion> {
  const { seed = 0, restarts = 3, signal, onProgress } = options;
  const ks = kRange(vectors.count, options);
  const kernel = options.kernel ?? (await fastestKernel());
  const sampleSize = Math.min(vectors.count, options.sampleSize ?? 2000);
  const sample = sampleSize < vectors.count ? sampleRows(vectors.count, sampleSize, seededRandom(deriveSeed(seed, 7919))).sort() : null;
  const sampleVectors = sample ? subset(vectors, sample) : vectors;
  const values: number[] = [];
  for (const [position, k] of ks.entries()) {
    throwIfCancelled(signal);
    onProgress?.({ fraction: position / ks.length, message: `Silhouette of k = ${k}` });
    const { labels } = await kmeans(vectors, { k, seed, restarts, kernel, signal });
    const sampleLabels = sample ? Int32Array.from(sample, (row) => labels[row]!) : labels;
    values.push(new Set(sampleLabels).size < 2 ? -1 : await silhouetteScore(sampleVectors, sampleLabels, kernel));
  }
  onProgress?.({ fraction: 1, message: 'Silhouette done' });
  let best = 0;
  for (let index = 1; index < values.length; index++) if (values[index]! > values[best]!) best = index;
  return { k: ks[best]!, ks, values };
}

/** Each row's nearest center (squared Euclidean), 0..k-1. */
function nearestCenters(vectors: VectorSet, centers: Float32Array, k: number): Int32Array {
  const { data, count, dims } = vectors;
  const labels = new Int32Array(count);
  for (let row = 0; row < count; row++) {
    let best = 0;
    let bestDistance = Infinity;
    for (let center = 0; center < k; center++) {
      let sum = 0;
      for (let index = 0; index < dims; index++) sum += (data[row * dims + index]! - centers[center * dims + index]!) ** 2;
      if (sum < bestDistance) {
        bestDistance = sum;
        best = center;
      }
    }
    labels[row] = best;
  }
  return labels;
}

/**
 * Picks the k in [minK, maxK] whose K-means partitions agree most across `runs` seeded subsamples of
 * `fraction` of the images: each run clusters its subsample, every image is assigned to the run's nearest
 * center, and the criterion is the mean ARI over all pairs of runs (1: the same partition every time). Ties
 * go to the larger k. Stability favours small k on data without clear groups (two halves are easy to find
 * again), so read it with the silhouette and the eigengap.
 *
 * await stabilityK(vectors, { minK: 2, maxK: 8 }) // { k: 4, ks: [2, ..., 8], values: [0.71, 0.83, 1, 0.78, ...] }
 */
export async function stabilityK(vectors: VectorSet, options: KRangeOptions & { runs?: number; fraction?: number } = {}): Promise<KCriterion> {
  const { seed = 0, restarts = 3, runs = 5, fraction = 0.8, signal, onProgress } = options;
  if (!Number.isInteger(runs) || runs < 2) throw new Error(`Stability needs at least 2 runs, not ${runs}.`);
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`The subsample fraction must be in (0, 1], not ${fraction}.`);
  const ks = kRange(vectors.count, options);
  const kernel = options.kernel ?? (await fastestKernel());
  const sampleSize = Math.max(ks.at(-1)!, Math.round(fraction * vectors.count));
  const samples = Array.from({ length: runs }, (_, run) => subset(vectors, sampleRows(vectors.count, sampleSize, seededRandom(deriveSeed(seed, 104_729 + run))).sort()));
  const values: number[] = [];
  for (const [position, k] of ks.entries()) {
    const partitions: Int32Array[] = [];
    for (let run = 0; run < runs; run++) {
      throwIfCancelled(signal);
      onProgress?.({ fraction: (position * runs + run) / (ks.length * runs), message: `Stability of k = ${k}: run ${run + 1} of ${runs}` });
      const fitted = await kmeans(samples[run]!, { k, seed: deriveSeed(seed, run), restarts, kernel, signal });
      partitions.push(nearestCenters(vectors, fitted.centers, k));
    }
    let total = 0;
    let pairs = 0;
    for (let first = 0; first < runs; first++) {
      for (let second = first + 1; second < runs; second++) {
        total += adjustedRandIndex(partitions[first]!, partitions[second]!);
        pairs++;
      }
    }
    values.push(total / pairs);
  }
  onProgress?.({ fraction: 1, message: 'Stability done' });
  let best = 0;
  for (let index = 1; index < values.length; index++) if (values[index]! >= values[best]!) best = index;
  return { k: ks[best]!, ks, values };
}
