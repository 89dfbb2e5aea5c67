/**
 * K-means clustering of float32 vectors: greedy k-means++ initialisation, Lloyd's iterations with the
 * distance step written as one matrix product, several seeded restarts keeping the lowest inertia.
 */
import { CancelledError, type LongWorkOptions, throwIfCancelled, yieldToEventLoop } from '../util/progress';
import { deriveSeed, type RandomSource, seededRandom } from '../util/random';
import { fastestKernel, type MatrixKernel } from './matrix-kernel';

/** Row-major float32 vectors: `data.length === count * dims`. */
export interface VectorSet {
  data: Float32Array;
  count: number;
  dims: number;
}

/** Settings of a K-means fit. */
export interface KMeansOptions extends LongWorkOptions {
  /** Number of clusters, 1..count. */
  k: number;
  /** Independent runs from different k-means++ starts; the one with the lowest inertia wins. Default 10. */
  restarts?: number;
  /** Upper bound on Lloyd iterations per restart. Default 300. */
  maxIterations?: number;
  /**
   * Stop when the centers move less than this, relative to the data's mean per-dimension variance
   * (scikit-learn's convention). Smaller values iterate longer. Default 1e-4.
   */
  tolerance?: number;
  /** Seed of the random source; the same seed gives the same clusters. Default 0. */
  seed?: number;
  /** Matrix-product kernel; default the fastest available. */
  kernel?: MatrixKernel;
}

/** A K-means result: `labels[i]` in 0..k-1, `distances[i]` the Euclidean distance to its center. */
export interface KMeansResult {
  labels: Int32Array;
  distances: Float32Array;
  centers: Float32Array;
  inertia: number;
  iterations: number;
}

const ROWS_PER_PRODUCT_FLOATS = 16 * 1024 * 1024;

function squaredNorms(data: Float32Array, count: number, dims: number): Float64Array {
  const norms = new Float64Array(count);
  for (let row = 0; row < count; row++) {
    let sum = 0;
    const offset = row * dims;
    for (let index = 0; index < dims; index++) sum += data[offset + index]! * data[offset + index]!;
    norms[row] = sum;
  }
  return norms;
}

/**
 * Calls `visit(rowStart, rowCount, products)` with `products` = rows x transpose(centers), in chunks that
 * keep the product matrix under 64 MB.
 */
async function forEachProductChunk(
  kernel: MatrixKernel,
  vectors: VectorSet,
  centers: Float32Array,
  centerCount: number,
  visit: (rowStart: number, rowCount: number, products: Float32Array) => void,
): Promise<void> {
  const rowsPerChunk = Math.max(1, Math.floor(ROWS_PER_PRODUCT_FLOATS / Math.max(centerCount, 1)));
  for (let rowStart = 0; rowStart < vectors.count; rowStart += rowsPerChunk) {
    const rowCount = Math.min(rowsPerChunk, vectors.count - rowStart);
    const rows = vectors.data.subarray(rowStart * vectors.dims, (rowStart + rowCount) * vectors.dims);
    visit(rowStart, rowCount, await kernel.multiplyTransposed(rows, rowCount, centers, centerCount, vectors.dims));
  }
}

/** Greedy k-means++ (Arthur and Vassilvitskii 2007, with 2 + ln k local trials as in scikit-learn). */
async function kmeansPlusPlus(
  vectors: VectorSet,
  norms: Float64Array,
  k: number,
  random: RandomSource,
  kernel: MatrixKernel,
  signal: AbortSignal | undefined,
): Promise<Float32Array> {
  const { data, count, dims } = vectors;
  const centers = new Float32Array(k * dims);
  const trials = 2 + Math.floor(Math.log(k));
  const first = Math.floor(random() * count);
  centers.set(data.subarray(first * dims, (first + 1) * dims), 0);
  const closest = new Float64Array(count);
  await forEachProductChunk(kernel, vectors, centers.subarray(0, dims), 1, (start, rows, products) => {
    for (let row = 0; row < rows; row++) {
      closest[start + row] = Math.max(0, norms[start + row]! - 2 * products[row]! + norms[first]!);
    }
  });
  const cumulative = new Float64Array(count);
  const candidates = new Float32Array(trials * dims);
  const candidateIds = new Int32Array(trials);
  const candidatePotential = new Float64Array(trials);
  for (let centerIndex = 1; centerIndex < k; centerIndex++) {
    throwIfCancelled(signal);
    let total = 0;
    for (let row = 0; row < count; row++) cumulative[row] = total += closest[row]!;
    for (let trial = 0; trial < trials; trial++) {
      const target = random() * total;
      let low = 0;
      let high = count - 1;
      while (low < high) {
        const middle = (low + high) >> 1;
        if (cumulative[middle]! <= target) low = middle + 1;
        else high = middle;
      }
      candidateIds[trial] = low;
      candidates.set(data.subarray(low * dims, (low + 1) * dims), trial * dims);
    }
    candidatePotential.fill(0);
    await forEachProductChunk(kernel, vectors, candidates, trials, (start, rows, products) => {
      for (let row = 0; row < rows; row++) {
        const current = closest[start + row]!;
        for (let trial = 0; trial < trials; trial++) {
          const distance = Math.max(0, norms[start + row]! - 2 * products[row * trials + trial]! + norms[candidateIds[trial]!]!);
          candidatePotential[trial] = candidatePotential[trial]! + Math.min(current, distance);
        }
      }
    });
    let best = 0;
    for (let trial = 1; trial < trials; trial++) if (candidatePotential[trial]! < candidatePotential[best]!) best = trial;
    const chosen = candidateIds[best]!;
    centers.set(data.subarray(chosen * dims, (chosen + 1) * dims), centerIndex * dims);
    await forEachProductChunk(kernel, vectors, candidates.subarray(best * dims, (best + 1) * dims), 1, (start, rows, products) => {
      for (let row = 0; row < rows; row++) {
        const distance = Math.max(0, norms[start + row]! - 2 * products[row]! + norms[chosen]!);
        if (distance < closest[start + row]!) closest[start + row] = distance;
      }
    });
  }
  return centers;
}

function meanVariance(vectors: VectorSet): number {
  const { data, count, dims } = vectors;
  const mean = new Float64Array(dims);
  for (let row = 0; row < count; row++) for (let index = 0; index < dims; index++) mean[index] = mean[index]! + data[row * dims + index]!;
  for (let index = 0; index < dims; index++) mean[index] = mean[index]! / count;
  let sum = 0;
  for (let row = 0; row < count; row++) {
    for (let index = 0; index < dims; index++) {
      const delta = data[row * dims + index]! - mean[index]!;
      sum += delta * delta;
    }
  }
  return sum / (count * dims);
}

async function lloyd(
  vectors: VectorSet,
  norms: Float64Array,
  initialCenters: Float32Array,
  k: number,
  maxIterations: number,
  shiftTolerance: number,
  kernel: MatrixKernel,
  signal: AbortSignal | undefined,
): Promise<KMeansResult> {
  const { data, count, dims } = vectors;
  let centers = initialCenters;
  const labels = new Int32Array(count);
  const squaredDistances = new Float64Array(count);
  const centerNorms = new Float64Array(k);
  let iterations = 0;
  let inertia = Infinity;
  for (;;) {
    throwIfCancelled(signal);
    for (let center = 0; center < k; center++) {
      let sum = 0;
      for (let index = 0; index < dims; index++) sum += centers[center * dims + index]! ** 2;
      centerNorms[center] = sum;
    }
    inertia = 0;
    await forEachProductChunk(kernel, vectors, centers, k, (start, rows, products) => {
      for (let row = 0; row < rows; row++) {
        let best = 0;
        let bestDistance = Infinity;
        const offset = row * k;
        for (let center = 0; center < k; center++) {
          const distance = centerNorms[center]! - 2 * products[offset + center]!;
          if (distance < bestDistance) {
            bestDistance = distance;
            best = center;
          }
        }
        const squared = Math.max(0, bestDistance + norms[start + row]!);
        labels[start + row] = best;
        squaredDistances[start + row] = squared;
        inertia += squared;
      }
    });
    if (iterations >= maxIterations) break;
    iterations++;
    const sums = new Float64Array(k * dims);
    const sizes = new Int32Array(k);
    for (let row = 0; row < count; row++) {
      const center = labels[row]!;
      sizes[center] = sizes[center]! + 1;
      const offset = row * dims;
      const target = center * dims;
      for (let index = 0; index < dims; index++) sums[target + index] = sums[target + index]! + data[offset + index]!;
    }
    const next = new Float32Array(k * dims);
    const taken = new Set<number>();
    for (let center = 0; center < k; center++) {
      if (sizes[center] === 0) {
        // An empty cluster takes the point farthest from its own center, as scikit-learn does.
        let farthest = -1;
        for (let row = 0; row < count; row++) {
          if (!taken.has(row) && (farthest < 0 || squaredDistances[row]! > squaredDistances[farthest]!)) farthest = row;
        }
        taken.add(farthest);
        squaredDistances[farthest] = 0;
        next.set(data.subarray(farthest * dims, (farthest + 1) * dims), center * dims);
        continue;
      }
      for (let index = 0; index < dims; index++) next[center * dims + index] = sums[center * dims + index]! / sizes[center]!;
    }
    let shift = 0;
    for (let index = 0; index < next.length; index++) shift += (next[index]! - centers[index]!) ** 2;
    centers = next;
    if (shift <= shiftTolerance) {
      // One more assignment pass so labels match the final centers.
      maxIterations = iterations;
    }
    if (iterations % 5 === 0) await yieldToEventLoop();
  }
  // Exact distances for the final assignment: the product form above loses precision to cancellation.
  const distances = new Float32Array(count);
  inertia = 0;
  for (let row = 0; row < count; row++) {
    const offset = row * dims;
    const centerOffset = labels[row]! * dims;
    let sum = 0;
    for (let index = 0; index < dims; index++) sum += (data[offset + index]! - centers[centerOffset + index]!) ** 2;
    inertia += sum;
    distances[row] = Math.sqrt(sum);
  }
  return { labels, distances, centers, inertia, iterations };
}

/**
 * Clusters vectors into k groups.
 *
 * await kmeans({ data, count: 6, dims: 2 }, { k: 2, seed: 1 })
 * // { labels: Int32Array [0,0,0,1,1,1], distances, centers: Float32Array(4), inertia: 0.5, iterations: 2 }
 */
export async function kmeans(vectors: VectorSet, options: KMeansOptions): Promise<KMeansResult> {
  const { k, restarts = 10, maxIterations = 300, tolerance = 1e-4, seed = 0, signal, onProgress } = options;
  if (!Number.isInteger(k) || k < 1) throw new Error(`The number of clusters must be a whole number of at least 1, not ${k}.`);
  if (k > vectors.count) throw new Error(`Cannot make ${k} clusters from ${vectors.count} images: choose at most ${vectors.count}.`);
  if (vectors.data.length !== vectors.count * vectors.dims) throw new Error('Vector data does not match count x dims.');
  const kernel = options.kernel ?? (await fastestKernel());
  const norms = squaredNorms(vectors.data, vectors.count, vectors.dims);
  const shiftTolerance = tolerance * meanVariance(vectors);
  let best: KMeansResult | undefined;
  for (let restart = 0; restart < restarts; restart++) {
    if (signal?.aborted) throw new CancelledError();
    onProgress?.({ fraction: restart / restarts, message: `K-means restart ${restart + 1} of ${restarts}` });
    const random = seededRandom(deriveSeed(seed, restart));
    const centers = await kmeansPlusPlus(vectors, norms, k, random, kernel, signal);
    const result = await lloyd(vectors, norms, centers, k, maxIterations, shiftTolerance, kernel, signal);
    if (!best || result.inertia < best.inertia) best = result;
  }
  onProgress?.({ fraction: 1, message: `K-means done: inertia ${best!.inertia.toPrecision(6)}` });
  return best!;
}
