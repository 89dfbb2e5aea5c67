/**
 * K-means clustering of float32 vectors: greedy k-means++ initialisation (restarts seeded in lockstep, on a
 * row sample when the data are large, through the sample's Gram matrix when it fits), Lloyd's iterations
 * with Hamerly's bounds and the distance step written as one matrix product (on 8-bit integer codes for
 * large inputs: approximate early passes, then exact ones whose labels rounding bounds prove), several
 * seeded restarts keeping the lowest inertia, hopeless restarts abandoned early.
 */
import { CancelledError, type LongWorkOptions, throwIfCancelled, yieldToEventLoop } from '../util/progress';
import { deriveSeed, type RandomSource, sampleRows, seededRandom } from '../util/random';
import { gatherRows, squaredRowNorms } from '../util/rows';
import { fastestKernel, type MatrixKernel } from './matrix-kernel';
import { type QuantizedRows, quantizeColumns, quantizeRows, type RowCodes } from './quantized-rows';

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
  /**
   * Rows sampled (uniformly, seeded) for the k-means++ seeding; Lloyd's iterations always use every row.
   * Default: 32 k when count x k x dims is at least 2^30, else every row. Fewer rows seed faster; a group
   * with no row in the sample gets a seed only if Lloyd's iterations find it.
   */
  seedSampleRows?: number;
  /** Matrix-product kernel; default the fastest available. */
  kernel?: MatrixKernel;
  /**
   * Rank centers with 8-bit integer products where the kernel has them (exact labels by bounds; see
   * lloyd). Default: when count x k x dims is at least 2^30, where the products outweigh rounding the rows.
   */
  quantize?: boolean;
}

/** A K-means result: `labels[i]` in 0..k-1, `distances[i]` the Euclidean distance to its center. */
export interface KMeansResult {
  labels: Int32Array;
  distances: Float32Array;
  centers: Float32Array;
  inertia: number;
  iterations: number;
}

/** One restart's fit; `inertia` from the cluster sums. */
type LloydResult = Omit<KMeansResult, 'distances'>;

const ROWS_PER_PRODUCT_FLOATS = 16 * 1024 * 1024;
/**
 * Lloyd's passes measure rows against the centers in blocks of at most this many products (2 MB): the
 * graph's steps after the product (scales, bias, TopK) then pass over intermediates that stay in cache.
 * Measured at N = 100,000, K = 160, D = 1024 (2 threads, some load): the integer graph took 90-105 ms in
 * blocks of 2,048-8,192 rows against 180-190 ms in one block, float32 285-337 ms against 362-604 ms.
 */
const MEASURE_FLOATS = 512 * 1024;
/**
 * Most restarts seeded in lockstep. With 7 candidates a step (k = 160) the product of 20,000 x 1024 rows ran
 * at 23-31 GFLOP/s, with 70 (10 restarts) at 55 and with 160 at 54-68 (2 threads, other load present):
 * beyond about 100 columns there is little to gain.
 */
const MAX_SEEDING_GROUP = 16;
/**
 * Seeding measures candidates through the sample's Gram matrix (gramMatrix) when it holds at most this many
 * entries (128 MB of float32: up to 5,792 rows, so the 32 k rows sampled for k up to 181) and costs less
 * than measuring the candidates directly.
 */
const GRAM_MAX_ENTRIES = 2 ** 25;
/** Rows per product while building the Gram matrix. */
const GRAM_BLOCK_ROWS = 512;
/** Side of the tiles in which the Gram matrix's upper triangle is copied from its lower one (16 KB of float32). */
const GRAM_TILE = 64;

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

/**
 * The Gram matrix of the rows, `gram[a x count + b] = x_a.x_b` (count x count, symmetric), for seeding on a
 * sample small enough to hold it. Each product yields a block of rows against the rows up to the block's
 * end (the lower triangle, 55% of the full product in blocks of GRAM_BLOCK_ROWS at 5,120 rows); the upper
 * triangle is copied from it in tiles, so the matrix is exactly symmetric.
 */
export async function gramMatrix(vectors: VectorSet, kernel: MatrixKernel, signal: AbortSignal | undefined): Promise<Float32Array> {
  const { data, count, dims } = vectors;
  const gram = new Float32Array(count * count);
  for (let start = 0; start < count; start += GRAM_BLOCK_ROWS) {
    throwIfCancelled(signal);
    const rows = Math.min(GRAM_BLOCK_ROWS, count - start);
    const columns = start + rows;
    const products = await kernel.multiplyTransposed(data.subarray(start * dims, columns * dims), rows, data, columns, dims);
    for (let line = 0; line < rows; line++) gram.set(products.subarray(line * columns, (line + 1) * columns), (start + line) * count);
  }
  for (let rowTile = 0; rowTile < count; rowTile += GRAM_TILE) {
    const rowEnd = Math.min(count, rowTile + GRAM_TILE);
    for (let columnTile = 0; columnTile <= rowTile; columnTile += GRAM_TILE) {
      for (let row = rowTile; row < rowEnd; row++) {
        const columnEnd = Math.min(row, columnTile + GRAM_TILE);
        for (let column = columnTile; column < columnEnd; column++) gram[column * count + row] = gram[row * count + column]!;
      }
    }
  }
  return gram;
}

/**
 * Greedy k-means++ (Arthur and Vassilvitskii 2007, with 2 + ln k local trials as in scikit-learn) for
 * several restarts at once, one seeding per random source.
 *
 * Each step of a seeding must measure its candidates against every row. With `gram` (the rows' Gram
 * matrix, see gramMatrix) a candidate's products are a row of it: the seedings then cost one product of the
 * rows with themselves, whatever k and the number of restarts (N = 20,000, K = 160, 10 restarts on a
 * 5,120-row sample: 27 GFLOP instead of 117, 0.6-1.0 s instead of 1.9 s for the ten seedings). Without it,
 * with a few candidates the product of a step only streams the data through memory (about 8 ms for 20,000 x
 * 1024 here, mostly waiting on memory). The restarts run in lockstep so one product serves all of them: 10
 * restarts x 7 candidates make a product that runs near the arithmetic limit (N = 20,000, K = 160: 6.5 s for
 * ten seedings, 2.2-2.9 s for one alone). The chosen candidate's distances come from the same product, so
 * each step reads the data once. Each restart draws from its own random source in the same order as a lone
 * run would, so a restart's seeds do not depend on how many run beside it.
 */
export async function kmeansPlusPlus(
  vectors: VectorSet,
  norms: Float64Array,
  k: number,
  randoms: RandomSource[],
  kernel: MatrixKernel,
  signal: AbortSignal | undefined,
  gram?: Float32Array,
): Promise<Float32Array[]> {
  const { data, count, dims } = vectors;
  const runs = randoms.length;
  const trials = 2 + Math.floor(Math.log(k));
  const centers = randoms.map(() => new Float32Array(k * dims));
  const closest = randoms.map(() => new Float64Array(count));
  const firstIds = new Int32Array(runs);
  const firsts = new Float32Array(runs * dims);
  for (let run = 0; run < runs; run++) {
    const first = Math.floor(randoms[run]!() * count);
    firstIds[run] = first;
    centers[run]!.set(data.subarray(first * dims, (first + 1) * dims), 0);
    firsts.set(data.subarray(first * dims, (first + 1) * dims), run * dims);
  }
  if (gram) {
    for (let run = 0; run < runs; run++) {
      const first = firstIds[run]!;
      const distances = closest[run]!;
      const products = gram.subarray(first * count, (first + 1) * count);
      for (let row = 0; row < count; row++) distances[row] = Math.max(0, norms[row]! - 2 * products[row]! + norms[first]!);
    }
  } else {
    await forEachProductChunk(kernel, vectors, firsts, runs, (start, rows, products) => {
      for (let row = 0; row < rows; row++) {
        for (let run = 0; run < runs; run++) {
          closest[run]![start + row] = Math.max(0, norms[start + row]! - 2 * products[row * runs + run]! + norms[firstIds[run]!]!);
        }
      }
    });
  }
  const columns = runs * trials;
  const cumulative = new Float64Array(count);
  const candidates = new Float32Array(columns * dims);
  const candidateIds = new Int32Array(columns);
  const candidatePotential = new Float64Array(columns);
  // A step's products, kept until its best candidates are known (kernels return a fresh array per product).
  const chunks: { start: number; rows: number; products: Float32Array }[] = [];
  for (let centerIndex = 1; centerIndex < k; centerIndex++) {
    throwIfCancelled(signal);
    for (let run = 0; run < runs; run++) {
      const distances = closest[run]!;
      let total = 0;
      for (let row = 0; row < count; row++) cumulative[row] = total += distances[row]!;
      for (let trial = 0; trial < trials; trial++) {
        const target = randoms[run]!() * total;
        let low = 0;
        let high = count - 1;
        while (low < high) {
          const middle = (low + high) >> 1;
          if (cumulative[middle]! <= target) low = middle + 1;
          else high = middle;
        }
        const column = run * trials + trial;
        candidateIds[column] = low;
        if (!gram) candidates.set(data.subarray(low * dims, (low + 1) * dims), column * dims);
      }
    }
    candidatePotential.fill(0);
    if (gram) {
      for (let column = 0; column < columns; column++) {
        const distances = closest[Math.floor(column / trials)]!;
        const candidate = candidateIds[column]!;
        const products = gram.subarray(candidate * count, (candidate + 1) * count);
        const candidateNorm = norms[candidate]!;
        let potential = 0;
        for (let row = 0; row < count; row++) potential += Math.min(distances[row]!, Math.max(0, norms[row]! - 2 * products[row]! + candidateNorm));
        candidatePotential[column] = potential;
      }
    } else {
      chunks.length = 0;
      await forEachProductChunk(kernel, vectors, candidates, columns, (start, rows, products) => {
        chunks.push({ start, rows, products });
        for (let row = 0; row < rows; row++) {
          const norm = norms[start + row]!;
          for (let run = 0; run < runs; run++) {
            const current = closest[run]![start + row]!;
            for (let column = run * trials; column < (run + 1) * trials; column++) {
              const distance = Math.max(0, norm - 2 * products[row * columns + column]! + norms[candidateIds[column]!]!);
              candidatePotential[column] = candidatePotential[column]! + Math.min(current, distance);
            }
          }
        }
      });
    }
    for (let run = 0; run < runs; run++) {
      let best = run * trials;
      for (let column = best + 1; column < (run + 1) * trials; column++) if (candidatePotential[column]! < candidatePotential[best]!) best = column;
      const chosen = candidateIds[best]!;
      centers[run]!.set(data.subarray(chosen * dims, (chosen + 1) * dims), centerIndex * dims);
      const distances = closest[run]!;
      if (gram) {
        const products = gram.subarray(chosen * count, (chosen + 1) * count);
        for (let row = 0; row < count; row++) {
          const distance = Math.max(0, norms[row]! - 2 * products[row]! + norms[chosen]!);
          if (distance < distances[row]!) distances[row] = distance;
        }
        continue;
      }
      for (const { start, rows, products } of chunks) {
        for (let row = 0; row < rows; row++) {
          const distance = Math.max(0, norms[start + row]! - 2 * products[row * columns + best]! + norms[chosen]!);
          if (distance < distances[start + row]!) distances[start + row] = distance;
        }
      }
    }
  }
  return centers;
}

/**
 * Mean per-dimension variance, from the squared norms and the column sums (one pass for them unless
 * given): (sum |x|^2 - N |mean|^2) / (N dims).
 */
function meanVariance(vectors: VectorSet, norms: Float64Array, columnSums?: Float64Array): number {
  const { data, count, dims } = vectors;
  let total = 0;
  for (let row = 0; row < count; row++) total += norms[row]!;
  const mean = columnSums ?? new Float64Array(dims);
  if (!columnSums) {
    for (let row = 0; row < count; row++) {
      const offset = row * dims;
      for (let index = 0; index < dims; index++) mean[index] = mean[index]! + data[offset + index]!;
    }
  }
  let squaredMean = 0;
  for (let index = 0; index < dims; index++) squaredMean += (mean[index]! / count) ** 2;
  return Math.max(0, total - count * squaredMean) / (count * dims);
}

/**
 * Adds `length` values of `source` from `sourceOffset` to `target` from `targetOffset`. Unrolled by eight:
 * V8 does not vectorise, and the unrolled loop rebuilt the cluster sums of 20,000 x 1024 rows in 21-22 ms
 * against 33-71 for the plain loop and 26-27 unrolled by four (each value is still added in row order, so
 * the sums are the same to the bit).
 */
function addRow(target: Float64Array, targetOffset: number, source: Float32Array, sourceOffset: number, length: number): void {
  const end = sourceOffset + (length & ~7);
  let to = targetOffset;
  let from = sourceOffset;
  for (; from < end; from += 8, to += 8) {
    target[to] = target[to]! + source[from]!;
    target[to + 1] = target[to + 1]! + source[from + 1]!;
    target[to + 2] = target[to + 2]! + source[from + 2]!;
    target[to + 3] = target[to + 3]! + source[from + 3]!;
    target[to + 4] = target[to + 4]! + source[from + 4]!;
    target[to + 5] = target[to + 5]! + source[from + 5]!;
    target[to + 6] = target[to + 6]! + source[from + 6]!;
    target[to + 7] = target[to + 7]! + source[from + 7]!;
  }
  for (; from < sourceOffset + length; from++, to++) target[to] = target[to]! + source[from]!;
}

/**
 * Moves a row from one cluster sum to another: subtracts `length` values of `source` from `sourceOffset` at
 * `sums[fromOffset..]` and adds them at `sums[toOffset..]`. Unrolled like addRow (6,000 rows of 1024:
 * 11-14 ms instead of 22-26 for the plain loop).
 */
function moveRow(sums: Float64Array, fromOffset: number, toOffset: number, source: Float32Array, sourceOffset: number, length: number): void {
  const end = sourceOffset + (length & ~7);
  let from = fromOffset;
  let to = toOffset;
  let index = sourceOffset;
  for (; index < end; index += 8, from += 8, to += 8) {
    const value0 = source[index]!;
    const value1 = source[index + 1]!;
    const value2 = source[index + 2]!;
    const value3 = source[index + 3]!;
    const value4 = source[index + 4]!;
    const value5 = source[index + 5]!;
    const value6 = source[index + 6]!;
    const value7 = source[index + 7]!;
    sums[from] = sums[from]! - value0;
    sums[from + 1] = sums[from + 1]! - value1;
    sums[from + 2] = sums[from + 2]! - value2;
    sums[from + 3] = sums[from + 3]! - value3;
    sums[from + 4] = sums[from + 4]! - value4;
    sums[from + 5] = sums[from + 5]! - value5;
    sums[from + 6] = sums[from + 6]! - value6;
    sums[from + 7] = sums[from + 7]! - value7;
    sums[to] = sums[to]! + value0;
    sums[to + 1] = sums[to + 1]! + value1;
    sums[to + 2] = sums[to + 2]! + value2;
    sums[to + 3] = sums[to + 3]! + value3;
    sums[to + 4] = sums[to + 4]! + value4;
    sums[to + 5] = sums[to + 5]! + value5;
    sums[to + 6] = sums[to + 6]! + value6;
    sums[to + 7] = sums[to + 7]! + value7;
  }
  for (; index < sourceOffset + length; index++, from++, to++) {
    const value = source[index]!;
    sums[from] = sums[from]! - value;
    sums[to] = sums[to]! + value;
  }
}

/** Half the distance from each center to its nearest other center (Infinity when k = 1): a point closer than that to its center cannot be nearer another. */
async function halfSeparations(centers: Float32Array, centerNorms: Float64Array, k: number, dims: number, kernel: MatrixKernel): Promise<Float64Array> {
  const half = new Float64Array(k).fill(Infinity);
  if (k < 2) return half;
  const products = await kernel.multiplyTransposed(centers, k, centers, k, dims);
  for (let center = 0; center < k; center++) {
    let nearest = Infinity;
    for (let other = 0; other < k; other++) {
      if (other === center) continue;
      const squared = centerNorms[center]! + centerNorms[other]! - 2 * products[center * k + other]!;
      if (squared < nearest) nearest = squared;
    }
    half[center] = 0.5 * Math.sqrt(Math.max(0, nearest));
  }
  return half;
}

/** Rows gathered into one product when only some rows of a chunk need new distances (16 MB at D = 1024). */
const GATHER_ROWS = 4096;

/**
 * Lloyd's iterations with Hamerly's bounds (Hamerly 2010, "Making k-means even faster"): each point keeps
 * an upper bound on the distance to its own center and a lower bound on the distance to any other, moved
 * by how far the centers move. A point whose upper bound is below its lower bound, or below half the
 * distance from its center to the nearest other center, keeps its label without any distance computed; the
 * others are gathered and measured against all centers in one matrix product. In high dimensions the
 * nearest and second-nearest centers are almost equally far, so while the centers still move every point
 * is measured; once they settle most points skip. Measured on overlapping blobs (N = 20,000, D = 1024,
 * K = 160, 29-41 iterations): the first 15 or so iterations measure every row, the later ones 10-40% of
 * them, and Lloyd's part of a restart took 4.4-4.9 s instead of 6.0-6.4 s; Elkan's per-center bounds would
 * have skipped under 1% of the rows in the early iterations. The cluster sums are updated only for points
 * that change cluster.
 *
 * With a kernel that has `smallestTwo` (onnxruntime: Gemm and TopK in one graph) only each measured row's
 * nearest and second-nearest center come back, not k products: the JavaScript argmin over the products
 * took about 12% of a fit's time in a CPU profile (N = 20,000, K = 160), and a full pass there took
 * 105-109 CPU-ms instead of 123-147.
 *
 * `abandon(pass, inertia)`, when given, hears after each assignment pass the inertia of the current labels
 * with centers at their means (sum of |x|^2 minus sum over clusters of |cluster sum|^2 / size, exact in
 * float64); returning true stops the restart and resolves to undefined.
 */
async function lloyd(
  vectors: VectorSet,
  norms: Float64Array,
  initialCenters: Float32Array,
  k: number,
  maxIterations: number,
  shiftTolerance: number,
  kernel: MatrixKernel,
  signal: AbortSignal | undefined,
  abandon?: (pass: number, inertia: number) => boolean,
  quantized?: QuantizedRows,
): Promise<LloydResult | undefined> {
  const { data, count, dims } = vectors;
  let centers = initialCenters;
  let totalNorm = 0;
  for (let row = 0; row < count; row++) totalNorm += norms[row]!;
  const labels = new Int32Array(count);
  // Bounds on Euclidean (not squared) distances; an infinite upper bound forces a measurement.
  const upper = new Float64Array(count).fill(Infinity);
  const lower = new Float64Array(count);
  const centerNorms = new Float64Array(k);
  const movement = new Float64Array(k);
  const sums = new Float64Array(k * dims);
  const sizes = new Int32Array(k);
  const chunkRows = Math.min(count, Math.max(1, Math.floor(MEASURE_FLOATS / k)));
  const pending = new Int32Array(chunkRows);
  const gathered = new Float32Array(Math.min(chunkRows, GATHER_ROWS) * dims);
  // After seeding and after an empty cluster is refilled, every point is measured and the sums rebuilt.
  let rebuild = true;
  let iterations = 0;

  /** Measures rows against every center; `rowAt(i)` is the row whose products are in line i. */
  // With a kernel that returns each row's two nearest centers, only those come back from the product.
  const nearestTwo = k >= 2 && kernel.smallestTwo ? kernel.smallestTwo.bind(kernel) : undefined;
  // With 8-bit rows (see quantizedMeasure) the rows' codes are gathered here instead of their floats.
  const integerNearestTwo = k >= 2 && quantized && kernel.quantizedSmallestTwo ? kernel.quantizedSmallestTwo.bind(kernel) : undefined;
  const gatheredCodes: RowCodes | undefined = integerNearestTwo && {
    codes: new Uint8Array(Math.min(chunkRows, GATHER_ROWS) * dims),
    scales: new Float32Array(Math.min(chunkRows, GATHER_ROWS)),
    count: Math.min(chunkRows, GATHER_ROWS),
    dims,
  };
  const ambiguousRows = new Int32Array(chunkRows);
  let quantizedCenters: ReturnType<typeof quantizeColumns> | undefined;
  let largestBias = 0;
  const minusTwoCenters = new Float32Array(k * dims);
  const centerBias = new Float32Array(k);

  /** Records a measured row: its bounds from the nearest and second-nearest `|x - c|^2 - |x|^2`, its new label. */
  const settle = (row: number, best: number, bestDistance: number, secondDistance: number) => {
    upper[row] = Math.sqrt(Math.max(0, bestDistance + norms[row]!));
    lower[row] = Math.sqrt(Math.max(0, secondDistance + norms[row]!));
    const previous = labels[row]!;
    labels[row] = best;
    if (previous !== best) {
      // The cluster sums follow after the pass (updateSums); a row is settled at most once a pass.
      changedRows[passChanges] = row;
      changedFrom[passChanges] = previous;
      passChanges++;
    }
  };

  /**
   * Brings the cluster sums and sizes up to date with the pass's new labels: moving each changed row from
   * its old cluster's sum to its new one costs 2 x dims additions a row, summing every row afresh dims a row,
   * so the sums are rebuilt when over half the rows changed (early passes) or when they are not yet valid.
   */
  const updateSums = () => {
    if (rebuild || passChanges * 2 > count) {
      sums.fill(0);
      sizes.fill(0);
      for (let row = 0; row < count; row++) {
        const center = labels[row]!;
        sizes[center] = sizes[center]! + 1;
        addRow(sums, center * dims, data, row * dims, dims);
      }
      rebuild = false;
      return;
    }
    for (let change = 0; change < passChanges; change++) {
      const row = changedRows[change]!;
      const previous = changedFrom[change]!;
      const best = labels[row]!;
      moveRow(sums, previous * dims, best * dims, data, row * dims, dims);
      sizes[previous] = sizes[previous]! - 1;
      sizes[best] = sizes[best]! + 1;
    }
  };

  /** The most by which a quantized row's `|c|^2 - 2 x.c` can be off, for the current centers (see quantizedMeasure). */
  const roundingBound = (row: number) => {
    const { largestNorm, largestError } = quantizedCenters!;
    const magnitude = quantized!.magnitudes[row]!;
    return 2 * (magnitude * largestError + quantized!.errors[row]! * largestNorm) + 1e-5 * (largestBias + 2 * magnitude * largestNorm);
  };
  // Of the rows measured in the last pass, how many the integer product could not decide (or, in a float32
  // pass, would not have decided): the integer product is used only while this share is low.
  let passRows = 0;
  let passAmbiguous = 0;
  let passChanges = 0;
  const changedRows = new Int32Array(count);
  const changedFrom = new Int32Array(count);
  // Passes run on the integer product alone (no bounds, undecided rows keep its nearest center) until the
  // labels settle; see APPROXIMATE_UNTIL_CHANGES.
  let approximate = integerNearestTwo !== undefined;
  // The fewest labels an approximate pass has changed, and in which pass (see APPROXIMATE_STALL_PASSES).
  let fewestChanges = Infinity;
  let fewestChangesPass = 0;

  /**
   * Measures `lines` rows (`rows`, row-major) against every center in float32; `rowAt(i)` is the index of
   * line i. With `predict`, counts the rows the integer product would have left undecided.
   */
  const measure = async (rows: Float32Array, lines: number, rowAt: (line: number) => number, predict = false) => {
    if (nearestTwo) {
      const { values, columns } = await nearestTwo(rows, lines, minusTwoCenters, k, dims, centerBias);
      for (let line = 0; line < lines; line++) {
        const row = rowAt(line);
        if (predict && values[line * 2 + 1]! - values[line * 2]! <= 2 * roundingBound(row)) passAmbiguous++;
        settle(row, columns[line * 2]!, values[line * 2]!, values[line * 2 + 1]!);
      }
      if (predict) passRows += lines;
      return;
    }
    const products = await kernel.multiplyTransposed(rows, lines, centers, k, dims);
    for (let line = 0; line < lines; line++) {
      let best = 0;
      let bestDistance = Infinity;
      let secondDistance = Infinity;
      const offset = line * k;
      for (let center = 0; center < k; center++) {
        const distance = centerNorms[center]! - 2 * products[offset + center]!;
        if (distance < bestDistance) {
          secondDistance = bestDistance;
          bestDistance = distance;
          best = center;
        } else if (distance < secondDistance) {
          secondDistance = distance;
        }
      }
      settle(rowAt(line), best, bestDistance, secondDistance);
    }
  };

  /**
   * Measures `lines` quantized rows (lines `first`.. of `rows`; `rowAt(i)` the index of line i) by the integer
   * product. `|x - c|^2 - |x|^2 = |c|^2 - 2 x.c` comes back within `bound` = 2 (|x'| |e_c| + |e_x| |c|) (plus
   * float rounding) of the truth (quantized-rows.ts), so where the second-nearest value minus the bound
   * exceeds the nearest plus the bound, the nearest center is certain and the widened values are valid
   * Hamerly bounds. The other rows (ambiguous: nearly equidistant from two centers) are measured again in
   * float32.
   */
  const quantizedMeasure = async (rows: RowCodes, first: number, lines: number, rowAt: (line: number) => number, verify: boolean) => {
    const { values, columns } = await integerNearestTwo!(rows, first, lines, quantizedCenters!, centerBias);
    let ambiguous = 0;
    for (let line = 0; line < lines; line++) {
      const row = rowAt(line);
      const bound = roundingBound(row);
      const nearest = values[line * 2]!;
      const second = values[line * 2 + 1]!;
      if (second - bound > nearest + bound) {
        settle(row, columns[line * 2]!, nearest + bound, second - bound);
      } else if (verify) {
        ambiguousRows[ambiguous++] = row;
      } else {
        // An approximate pass: the integer product's nearest center, and a measurement next pass.
        settle(row, columns[line * 2]!, nearest, second);
        upper[row] = Infinity;
        ambiguous++;
      }
    }
    passRows += lines;
    passAmbiguous += ambiguous;
    if (!verify) return;
    const batchRows = gathered.length / dims;
    for (let batchStart = 0; batchStart < ambiguous; batchStart += batchRows) {
      const batch = Math.min(batchRows, ambiguous - batchStart);
      for (let line = 0; line < batch; line++) {
        const row = ambiguousRows[batchStart + line]!;
        gathered.set(data.subarray(row * dims, (row + 1) * dims), line * dims);
      }
      await measure(gathered, batch, (line) => ambiguousRows[batchStart + line]!);
    }
  };

  // The squared norms of the initial centers; later passes get them with the centers (see below).
  for (let center = 0; center < k; center++) {
    let sum = 0;
    for (let index = 0; index < dims; index++) sum += centers[center * dims + index]! ** 2;
    centerNorms[center] = sum;
  }
  // The centers before the last move, whose array holds the next centers.
  let spareCenters: Float32Array | undefined;
  const movedSquared = new Float64Array(k);
  for (;;) {
    throwIfCancelled(signal);
    largestBias = 0;
    for (let center = 0; center < k; center++) {
      centerBias[center] = centerNorms[center]!;
      largestBias = Math.max(largestBias, centerNorms[center]!);
    }
    // Only float32 measurements use them, and approximate passes make none.
    if (nearestTwo && !approximate) for (let index = 0; index < k * dims; index++) minusTwoCenters[index] = -2 * centers[index]!;
    if (integerNearestTwo) {
      // -2 x centers, rounded: the bounds are stated for the centers themselves (the factor 2 is in `bound`).
      quantizedCenters = quantizeColumns(centers, k, dims);
      for (let center = 0; center < k; center++) quantizedCenters.scales[center] = -2 * quantizedCenters.scales[center]!;
    }
    const half = await halfSeparations(centers, centerNorms, k, dims, kernel);
    // Approximate passes use the integer product alone; exact passes use it (with float32 for the rows it
    // leaves undecided) while the last pass left at most MAX_AMBIGUOUS_SHARE of its rows undecided, else float32.
    const integers = approximate || (integerNearestTwo && passRows > 0 && passAmbiguous <= MAX_AMBIGUOUS_SHARE * passRows);
    passRows = 0;
    passAmbiguous = 0;
    passChanges = 0;
    for (let chunkStart = 0; chunkStart < count; chunkStart += chunkRows) {
      const chunkEnd = Math.min(count, chunkStart + chunkRows);
      let waiting = 0;
      for (let row = chunkStart; row < chunkEnd; row++) {
        if (!(upper[row]! <= Math.max(lower[row]!, half[labels[row]!]!))) pending[waiting++] = row;
      }
      if (waiting === 0) continue;
      if (waiting * 10 >= (chunkEnd - chunkStart) * 9) {
        // Nearly every row: measure the chunk in place rather than copy it.
        if (integers) await quantizedMeasure(quantized!, chunkStart, chunkEnd - chunkStart, (line) => chunkStart + line, !approximate);
        else await measure(data.subarray(chunkStart * dims, chunkEnd * dims), chunkEnd - chunkStart, (line) => chunkStart + line, gatheredCodes !== undefined);
        continue;
      }
      const batchRows = gathered.length / dims;
      for (let batchStart = 0; batchStart < waiting; batchStart += batchRows) {
        const lines = Math.min(batchRows, waiting - batchStart);
        if (integers) {
          for (let line = 0; line < lines; line++) {
            const row = pending[batchStart + line]!;
            gatheredCodes!.codes.set(quantized!.codes.subarray(row * dims, (row + 1) * dims), line * dims);
            gatheredCodes!.scales[line] = quantized!.scales[row]!;
          }
          await quantizedMeasure(gatheredCodes!, 0, lines, (line) => pending[batchStart + line]!, !approximate);
          continue;
        }
        for (let line = 0; line < lines; line++) {
          const row = pending[batchStart + line]!;
          gathered.set(data.subarray(row * dims, (row + 1) * dims), line * dims);
        }
        await measure(gathered, lines, (line) => pending[batchStart + line]!, gatheredCodes !== undefined);
      }
    }
    updateSums();
    // One sweep over the cluster sums gives the next centers (their means), how far each moves, its squared
    // norm and the sum of squares the clusters explain; as four sweeps over the k x dims values they took 3%
    // of a fit's CPU time (N = 20,000, K = 160), now under 1.5%. The results are the same to the bit.
    const next = spareCenters ?? new Float32Array(k * dims);
    let explained = 0;
    let emptyClusters = false;
    for (let center = 0; center < k; center++) {
      const size = sizes[center]!;
      if (size === 0) {
        emptyClusters = true;
        continue;
      }
      let squared = 0;
      let moved = 0;
      let norm = 0;
      for (let index = center * dims; index < (center + 1) * dims; index++) {
        const sum = sums[index]!;
        squared += sum ** 2;
        const value = Math.fround(sum / size);
        next[index] = value;
        moved += (value - centers[index]!) ** 2;
        norm += value ** 2;
      }
      explained += squared / size;
      movedSquared[center] = moved;
      centerNorms[center] = norm;
    }
    if (abandon?.(iterations, totalNorm - explained)) return undefined;
    if (approximate) {
      if (passChanges < fewestChanges) {
        fewestChanges = passChanges;
        fewestChangesPass = iterations;
      }
      if (passChanges <= APPROXIMATE_UNTIL_CHANGES * count || iterations - fewestChangesPass >= APPROXIMATE_STALL_PASSES) approximate = false;
    }
    if (iterations >= maxIterations) break;
    iterations++;
    if (emptyClusters) {
      // An empty cluster takes the point farthest from its own center, as scikit-learn does. Rare, so the
      // distances are measured exactly here and every point is measured again next iteration.
      const squaredDistances = new Float64Array(count);
      for (let row = 0; row < count; row++) {
        const offset = row * dims;
        const centerOffset = labels[row]! * dims;
        let sum = 0;
        for (let index = 0; index < dims; index++) sum += (data[offset + index]! - centers[centerOffset + index]!) ** 2;
        squaredDistances[row] = sum;
      }
      const taken = new Set<number>();
      for (let center = 0; center < k; center++) {
        if (sizes[center] !== 0) continue;
        let farthest = -1;
        for (let row = 0; row < count; row++) {
          if (!taken.has(row) && (farthest < 0 || squaredDistances[row]! > squaredDistances[farthest]!)) farthest = row;
        }
        taken.add(farthest);
        squaredDistances[farthest] = 0;
        next.set(data.subarray(farthest * dims, (farthest + 1) * dims), center * dims);
        let moved = 0;
        let norm = 0;
        for (let index = center * dims; index < (center + 1) * dims; index++) {
          moved += (next[index]! - centers[index]!) ** 2;
          norm += next[index]! ** 2;
        }
        movedSquared[center] = moved;
        centerNorms[center] = norm;
      }
      upper.fill(Infinity);
      rebuild = true;
    }
    let shift = 0;
    let largest = 0;
    let largestCenter = -1;
    let secondLargest = 0;
    for (let center = 0; center < k; center++) {
      shift += movedSquared[center]!;
      movement[center] = Math.sqrt(movedSquared[center]!);
      if (movement[center]! > largest) {
        secondLargest = largest;
        largest = movement[center]!;
        largestCenter = center;
      } else if (movement[center]! > secondLargest) {
        secondLargest = movement[center]!;
      }
    }
    if (!rebuild) {
      for (let row = 0; row < count; row++) {
        const center = labels[row]!;
        upper[row] = upper[row]! + movement[center]!;
        lower[row] = lower[row]! - (center === largestCenter ? secondLargest : largest);
      }
    }
    spareCenters = centers;
    centers = next;
    if (shift <= shiftTolerance) {
      // One more assignment pass so labels match the final centers; after approximate passes, exact ones
      // until the centers stop again.
      if (approximate) approximate = false;
      else maxIterations = iterations;
    }
    if (iterations % 5 === 0) await yieldToEventLoop();
  }
  // Inertia from the cluster sums, sum |x|^2 - 2 sum_c S_c.c + sum_c n_c |c|^2, in O(k dims): only the
  // winning restart's exact distances are measured (see exactDistances).
  let inertia = totalNorm;
  for (let center = 0; center < k; center++) {
    let dot = 0;
    let squared = 0;
    for (let index = center * dims; index < (center + 1) * dims; index++) {
      dot += sums[index]! * centers[index]!;
      squared += centers[index]! ** 2;
    }
    inertia += sizes[center]! * squared - 2 * dot;
  }
  return { labels, centers, inertia, iterations };
}

/**
 * Exact Euclidean distances of each row to its center and their sum of squares (the product form loses
 * precision to cancellation).
 */
function exactDistances(vectors: VectorSet, fit: LloydResult): KMeansResult {
  const { data, count, dims } = vectors;
  const { labels, centers } = fit;
  const distances = new Float32Array(count);
  let inertia = 0;
  for (let row = 0; row < count; row++) {
    const offset = row * dims;
    const centerOffset = labels[row]! * dims;
    let sum = 0;
    for (let index = 0; index < dims; index++) sum += (data[offset + index]! - centers[centerOffset + index]!) ** 2;
    inertia += sum;
    distances[row] = Math.sqrt(sum);
  }
  return { ...fit, distances, inertia };
}


/**
 * k-means++ seeds from a uniform sample of SEED_ROWS_PER_CLUSTER x k rows when the full seeding would be
 * costly (count x k x dims above SEED_SAMPLING_WORK). Each greedy step measures 2 + ln k candidates against
 * every row, so seeding 10 restarts on all of N = 20,000, K = 160, D = 1024 costs 460 GFLOP (a third of the
 * whole fit); on 5,120 rows it costs a quarter of that. Measured on the bench's overlapping blobs there
 * (10 restarts): inertia 20.569e6 and ARI 0.619 with the sample, 20.556e6 and 0.632 without, scikit-learn
 * 20.578e6 and 0.623, while single restarts range over 20.56-20.67e6; at N = 200,000 one restart reached
 * inertia 205.41e6 and ARI 0.933 in 18 iterations (scikit-learn n_init=1: 205.40e6, 0.928, 20). The price:
 * a group smaller than about count / (32 k) rows may have no row in the sample, and then gets a seed only
 * if Lloyd's iterations find it.
 *
 * Lloyd's iterations, by contrast, need every row from the start: warm-starting them from iterations on
 * nested samples (halving down to 31 or 256 rows per cluster) ended in poorer optima that the full
 * iterations could not leave: ARI 0.33 instead of 0.62 at N = 20,000 and 0.85 instead of 0.93 at 200,000.
 */
const SEED_ROWS_PER_CLUSTER = 32;
const SEED_SAMPLING_WORK = 2 ** 30;
/**
 * A restart is abandoned once it cannot plausibly beat the best finished one: from its 9th pass on, when
 * its inertia minus ABANDON_FACTOR times its decrease over the last ABANDON_WINDOW passes is still above the
 * best final inertia. On the bench's blobs (N = 20,000, K = 160) the remaining decrease of a restart was
 * 0.3-0.6 times its last 5 passes' decrease, so a factor of 2 is conservative: it dropped 6 of 10 restarts
 * after 11-16 passes (1,356 instead of 1,756 GFLOP in all) and returned the same restart as running all.
 * Factors of 1.5 and 1 saved only 3% and 7% more: most of the work is in the restarts that each beat the
 * best before them, which must run to the end.
 */
const ABANDON_FACTOR = 2;
const ABANDON_WINDOW = 5;
const ABANDON_FIRST_PASS = 8;
/**
 * Rows are rounded to 8 bits for the assignment products when count x k x dims reaches this. Rounding costs
 * about 3.5 ns per value once per fit; each pass then saves about 1.1e-11 s x k per value (integer products
 * at 180-220 GOP/s against 95 GFLOP/s for float32 on 2 cores, N = 100,000, D = 1024, K = 160).
 */
const QUANTIZE_WORK = 2 ** 30;
/**
 * The integer product costs about 0.45 of the float32 one and each row it cannot decide costs a float32
 * measurement besides, so it pays while fewer than about half the rows are undecided. On the bench's blobs
 * (N = 200,000, K = 160) 96% were undecided in the first two passes, 15-25% from the sixth on.
 */
const MAX_AMBIGUOUS_SHARE = 0.4;
/**
 * Lloyd's early passes run on the integer product alone, a row near a tie taking whichever center the
 * rounded product put first: the centers are far from settled then, and the labels need not be exact to
 * move them the right way. Once a pass changes fewer than this share of the labels, or
 * APPROXIMATE_STALL_PASSES passes in a row change no fewer than an earlier one (rows near ties flipping with
 * the rounding), or the centers stop, the passes become exact (each label proven by bounds or measured in
 * float32), so the result is a fixed point of exact Lloyd iterations (unless `maxIterations` ends the fit
 * during the approximate passes).
 *
 * The first exact passes measure nearly every row, and in float32, as most rows are too near a tie for
 * the integer product to decide (62% at the switch on the bench's blobs): each costs about three integer
 * passes. Measured there (N = 20,000, K = 160, 10 restarts, seeds 0-3): switching at 1% of the labels left
 * 16-28 such passes per fit, at 0.1% or after 4 passes without a new fewest 2-7 (for 21-35 more integer
 * passes), and Lloyd's iterations did 11% less work; mean inertia 20.55391e6 against 20.55395e6, mean ARI
 * 0.6559 against 0.6558. Switching after 3 passes without a new fewest saved 10%, after 2 6%.
 */
const APPROXIMATE_UNTIL_CHANGES = 0.001;
const APPROXIMATE_STALL_PASSES = 4;

/** Copies `rows` (indices into `vectors`) into one contiguous set, with their squared norms. */
function gatherSample(vectors: VectorSet, norms: Float64Array, rows: Int32Array): { sample: VectorSet; sampleNorms: Float64Array } {
  const sampleNorms = Float64Array.from(rows, (row) => norms[row]!);
  return { sample: { data: gatherRows(vectors.data, vectors.dims, rows), count: rows.length, dims: vectors.dims }, sampleNorms };
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
  const { count, dims } = vectors;
  // Rounding the rows also yields their norms and column sums, so the data is read once for all three.
  const quantized =
    kernel.quantizedSmallestTwo && k >= 2 && (options.quantize ?? count * k * dims >= QUANTIZE_WORK) ? quantizeRows(vectors.data, count, dims) : undefined;
  const norms = quantized?.squaredNorms ?? squaredRowNorms(vectors.data, count, dims);
  const shiftTolerance = tolerance * meanVariance(vectors, norms, quantized?.columnSums);
  const seedRows = Math.min(
    count,
    Math.max(k, Math.floor(options.seedSampleRows ?? (count * k * dims >= SEED_SAMPLING_WORK ? SEED_ROWS_PER_CLUSTER * k : count))),
  );
  let seedSet = vectors;
  let seedNorms = norms;
  if (seedRows < count) {
    // A uniform sample of the rows, in the order drawn.
    const rows = sampleRows(count, seedRows, seededRandom(deriveSeed(seed, 0x5eed)));
    ({ sample: seedSet, sampleNorms: seedNorms } = gatherSample(vectors, norms, rows));
  }
  const trials = 2 + Math.floor(Math.log(k));
  const groupSize = Math.max(1, Math.min(restarts, MAX_SEEDING_GROUP, Math.floor(ROWS_PER_PRODUCT_FLOATS / (seedRows * trials))));
  // The Gram matrix costs about seedRows^2 / 2 x dims multiply-adds once; direct measurement
  // (k - 1) x restarts x trials x seedRows x dims.
  let gram =
    seedRows * seedRows <= GRAM_MAX_ENTRIES && seedRows < 2 * (k - 1) * restarts * trials ? await gramMatrix(seedSet, kernel, signal) : undefined;
  let best: LloydResult | undefined;
  for (let groupStart = 0; groupStart < restarts; groupStart += groupSize) {
    if (signal?.aborted) throw new CancelledError();
    const group = Math.min(groupSize, restarts - groupStart);
    onProgress?.({ fraction: groupStart / restarts, message: `K-means++ seeding for restarts ${groupStart + 1}-${groupStart + group} of ${restarts}` });
    const randoms = Array.from({ length: group }, (_, index) => seededRandom(deriveSeed(seed, groupStart + index)));
    const seeds = await kmeansPlusPlus(seedSet, seedNorms, k, randoms, kernel, signal, gram);
    // Lloyd's iterations do not need it: let it go before they allocate.
    if (groupStart + group >= restarts) gram = undefined;
    for (let index = 0; index < group; index++) {
      const restart = groupStart + index;
      onProgress?.({ fraction: restart / restarts, message: `K-means restart ${restart + 1} of ${restarts}` });
      const history: number[] = [];
      const bestInertia = best?.inertia ?? Infinity;
      const abandon = (pass: number, inertia: number) => {
        history[pass] = inertia;
        return pass >= ABANDON_FIRST_PASS && inertia - ABANDON_FACTOR * (history[pass - ABANDON_WINDOW]! - inertia) > bestInertia;
      };
      const result = await lloyd(vectors, norms, seeds[index]!, k, maxIterations, shiftTolerance, kernel, signal, best ? abandon : undefined, quantized);
      if (!result) {
        onProgress?.({ fraction: (restart + 1) / restarts, message: `K-means restart ${restart + 1} of ${restarts} abandoned after ${history.length - 1} iterations: it cannot beat the best` });
      } else if (!best || result.inertia < best.inertia) {
        best = result;
      }
    }
  }
  const result = exactDistances(vectors, best!);
  onProgress?.({ fraction: 1, message: `K-means done: inertia ${result.inertia.toPrecision(6)}` });
  return result;
}
