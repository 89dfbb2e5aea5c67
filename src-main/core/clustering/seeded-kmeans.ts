/**
 * K-means seeded by labeled images (Basu et al. 2002, "constrained" seeding): each known species starts
 * as a cluster at the mean of its labeled images, labeled images stay in their species' cluster, and the
 * remaining clusters (for species nobody labeled yet) start by k-means++ on the unlabeled images.
 */
import type { LongWorkOptions } from '../util/progress';
import { throwIfCancelled } from '../util/progress';
import { seededRandom } from '../util/random';
import type { VectorSet } from './kmeans';
import { fastestKernel, type MatrixKernel } from './matrix-kernel';

/** Settings of seeded K-means. */
export interface SeededKMeansOptions extends LongWorkOptions {
  /** Total clusters: at least the number of labeled species; the extra ones are candidate new species. */
  k: number;
  /** Species index (0..species-1) of each row, or -1 where unknown. */
  seeds: Int32Array;
  maxIterations?: number;
  seed?: number;
  kernel?: MatrixKernel;
}

/**
 * Centers (k x dims, float32) whose first `species` rows are the means of each species' labeled rows (the rest
 * zero), and the labeled rows per species; throws when a species has none.
 *
 * labeledMeans({ data: Float32Array.of(0, 2, 4), count: 3, dims: 1 }, Int32Array.of(0, 0, -1), 2, 1)
 * // { centers: Float32Array [1, 0], sizes: Int32Array [2, 0] }
 */
export function labeledMeans(vectors: VectorSet, seeds: Int32Array, k: number, species: number): { centers: Float32Array; sizes: Int32Array } {
  const { data, count, dims } = vectors;
  const centers = new Float32Array(k * dims);
  const sizes = new Int32Array(k);
  for (let row = 0; row < count; row++) {
    const label = seeds[row]!;
    if (label < 0) continue;
    sizes[label] = sizes[label]! + 1;
    for (let index = 0; index < dims; index++) centers[label * dims + index] = centers[label * dims + index]! + data[row * dims + index]!;
  }
  for (let center = 0; center < species; center++) {
    if (sizes[center] === 0) throw new Error(`Species ${center} has no labeled image.`);
    for (let index = 0; index < dims; index++) centers[center * dims + index] = centers[center * dims + index]! / sizes[center]!;
  }
  return { centers, sizes };
}

/**
 * Clusters with labeled rows fixed; cluster c < species count is species c.
 *
 * await seededKmeans(vectors, { k: 3, seeds: Int32Array.from([0, -1, 1, -1]) })
 * // { labels: Int32Array [0, 0, 1, 2], distances: Float32Array(4) }
 */
export async function seededKmeans(vectors: VectorSet, options: SeededKMeansOptions): Promise<{ labels: Int32Array; distances: Float32Array }> {
  const { k, seeds, maxIterations = 100, seed = 0, signal } = options;
  const { data, count, dims } = vectors;
  const kernel = options.kernel ?? (await fastestKernel());
  const species = seeds.reduce((maximum, value) => Math.max(maximum, value + 1), 0);
  if (k < species) throw new Error(`k (${k}) must be at least the number of labeled species (${species}).`);
  const { centers, sizes } = labeledMeans(vectors, seeds, k, species);
  // Extra clusters: farthest-first from the existing centers among unlabeled rows (deterministic for a seed).
  const random = seededRandom(seed);
  const unlabeled = Array.from({ length: count }, (_, row) => row).filter((row) => seeds[row]! < 0);
  const norms = new Float64Array(count);
  for (let row = 0; row < count; row++) {
    let sum = 0;
    for (let index = 0; index < dims; index++) sum += data[row * dims + index]! ** 2;
    norms[row] = sum;
  }
  const labels = new Int32Array(count);
  const distances = new Float32Array(count);
  const assign = async (centerCount: number) => {
    const centerNorms = new Float64Array(centerCount);
    for (let center = 0; center < centerCount; center++) {
      let sum = 0;
      for (let index = 0; index < dims; index++) sum += centers[center * dims + index]! ** 2;
      centerNorms[center] = sum;
    }
    const products = await kernel.multiplyTransposed(data, count, centers, centerCount, dims);
    for (let row = 0; row < count; row++) {
      let best = 0;
      let bestDistance = Infinity;
      for (let center = 0; center < centerCount; center++) {
        const distance = norms[row]! - 2 * products[row * centerCount + center]! + centerNorms[center]!;
        if (distance < bestDistance) [best, bestDistance] = [center, distance];
      }
      labels[row] = seeds[row]! >= 0 ? seeds[row]! : best;
      distances[row] = bestDistance;
    }
  };
  for (let center = species; center < k; center++) {
    await assign(center);
    let farthest = unlabeled[Math.floor(random() * unlabeled.length)] ?? 0;
    for (const row of unlabeled) if (distances[row]! > distances[farthest]!) farthest = row;
    centers.set(data.subarray(farthest * dims, (farthest + 1) * dims), center * dims);
  }
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    throwIfCancelled(signal);
    const previous = Int32Array.from(labels);
    await assign(k);
    if (iteration > 0 && previous.every((label, row) => label === labels[row])) break;
    const sums = new Float64Array(k * dims);
    const counts = new Int32Array(k);
    for (let row = 0; row < count; row++) {
      const label = labels[row]!;
      counts[label] = counts[label]! + 1;
      for (let index = 0; index < dims; index++) sums[label * dims + index] = sums[label * dims + index]! + data[row * dims + index]!;
    }
    for (let center = 0; center < k; center++) {
      if (counts[center] === 0) continue;
      for (let index = 0; index < dims; index++) centers[center * dims + index] = sums[center * dims + index]! / counts[center]!;
    }
  }
  for (let row = 0; row < count; row++) {
    let sum = 0;
    const label = labels[row]!;
    for (let index = 0; index < dims; index++) sum += (data[row * dims + index]! - centers[label * dims + index]!) ** 2;
    distances[row] = Math.sqrt(sum);
  }
  return { labels, distances };
}
