/**
 * k-nearest-neighbour graphs by matrix multiply: exact up to `approximateAbove` points, partitioned above
 * (approximate, its recall measured; partitioned-knn.ts). In the exact search squared distances are
 * `|x|^2 - 2 x.y + |y|^2`, so the work is one product per block of rows, run by the fast matrix kernel;
 * each product covers only the pairs (i, j) with j >= i and feeds both points' candidate lists, which
 * halves the arithmetic. Memory stays at one product block (at most 64 MB) plus a centred float32 copy of
 * the data, never N x N.
 */
import { type LongWorkOptions, throwIfCancelled, yieldToEventLoop } from '../util/progress';
import { CandidateLists, offerBlock } from './candidate-lists';
import type { VectorSet } from './kmeans';
import type { MatrixKernel } from './matrix-kernel';
import { fastestKernel } from './matrix-kernel';
import { partitionedNeighbors } from './partitioned-knn';

/** Each point's nearest other points, nearest first: row i of `indices` and `squaredDistances` has `neighbors` entries. */
export interface NeighborLists {
  count: number;
  /** Neighbours per point, the point itself not counted. */
  neighbors: number;
  indices: Int32Array;
  squaredDistances: Float32Array;
}

/** A square sparse matrix in compressed sparse row form: row i's entries are at rowStart[i]..rowStart[i+1]-1, columns ascending. */
export interface SparseMatrix {
  size: number;
  rowStart: Int32Array;
  columns: Int32Array;
  values: Float64Array;
}

/** Settings of the exact neighbour search. */
export interface NearestNeighborOptions extends LongWorkOptions {
  /** Other points to find per point (the point itself excluded), at least 1 and below the number of points. */
  neighbors: number;
  /** Matrix-product kernel; default onnxruntime with non-spinning threads (see matrix-kernel.ts). */
  kernel?: MatrixKernel;
  /** Rows per product block; default the most that keep a block under 64 MB, at most 512. */
  rowsPerBlock?: number;
}

/** Settings of the affinity graph. */
export interface AffinityOptions extends LongWorkOptions {
  /** Neighbours per point counting the point itself, as scikit-learn's `n_neighbors`. Default 10. */
  neighbors?: number;
  /** Matrix-product kernel; default onnxruntime with non-spinning threads (see matrix-kernel.ts). */
  kernel?: MatrixKernel;
  /**
   * Above this many points the neighbours come from the partitioned (approximate) search, whose cost grows
   * about as N^2 x probes / lists instead of N^2 / 2. Default APPROXIMATE_ABOVE; Infinity keeps every search exact.
   */
  approximateAbove?: number;
  /** Sampled recall@k the approximate search must reach, in 0..1. Default 0.95. */
  targetRecall?: number;
  /** Seed of the approximate search's partition and recall sample. Default 0. */
  seed?: number;
}

/**
 * Point count above which the graph is approximate. Measured on the benchmark's 1024-d blobs (one pass of 8
 * probes): the partitioned search computed 1.38 times the exact search's distances at 10,000 points (42
 * lists), 0.67 at 20,000 (74 lists; with its k-means and recall sample about the exact search's cost) and
 * 0.15 at 50,000 (217 lists), so it pays from about 20,000 on. It also gives spectral.ts a coarse start.
 */
export const APPROXIMATE_ABOVE = 20_000;

/** How a neighbour graph was searched: exactly, or by the partitioned search with its sampled recall. */
export interface NeighborSearchReport {
  method: 'exact' | 'partitioned';
  /** Sampled recall@k against the exact neighbours (1 for the exact search). */
  recall: number;
  /** Queries the recall was measured on (0 for the exact search). */
  sampledQueries: number;
}

/** A kNN affinity with how it was found; `partition` (list of each point, and the list count) when the search was partitioned. */
export interface NeighborGraph {
  affinity: SparseMatrix;
  search: NeighborSearchReport;
  partition?: { labels: Int32Array; lists: number };
}

// The largest product block, in floats: 64 MB keeps memory flat while blocks stay big enough for a fast GEMM.
const PRODUCT_FLOATS = 16 * 1024 * 1024;
// Rows per block: the diagonal block wastes half its square, and above about 500 rows the kernel gains nothing.
const MAX_ROWS_PER_BLOCK = 512;

/** Subtracts the mean: distances do not change, and the norms shrink, so `|x|^2 - 2 x.y + |y|^2` loses less to cancellation. */
export function centered(vectors: VectorSet): { data: Float32Array; norms: Float64Array } {
  const { count, dims } = vectors;
  const mean = new Float64Array(dims);
  for (let row = 0; row < count; row++) {
    const offset = row * dims;
    for (let index = 0; index < dims; index++) mean[index] = mean[index]! + vectors.data[offset + index]!;
  }
  for (let index = 0; index < dims; index++) mean[index] = mean[index]! / Math.max(count, 1);
  const data = new Float32Array(count * dims);
  const norms = new Float64Array(count);
  for (let row = 0; row < count; row++) {
    const offset = row * dims;
    let sum = 0;
    for (let index = 0; index < dims; index++) {
      const value = Math.fround(vectors.data[offset + index]! - mean[index]!);
      data[offset + index] = value;
      sum += value * value;
    }
    norms[row] = sum;
  }
  return { data, norms };
}

/**
 * All-pairs squared distances, a block of rows at a time: `visit(start, rows, products, norms)` gets the rows'
 * dot products with every row of the mean-centred data (rows x count, row-major) and the centred rows' squared
 * norms, so the squared distance of rows i and j is max(0, norms[i] + norms[j] - 2 products[(i - start) * count + j]).
 */
export async function forEachDistanceBlock(
  vectors: VectorSet,
  kernel: MatrixKernel,
  signal: AbortSignal | undefined,
  visit: (start: number, rows: number, products: Float32Array, norms: Float64Array) => void,
): Promise<void> {
  const { count, dims } = vectors;
  const { data: centred, norms } = centered(vectors);
  const rowsPerBlock = Math.max(1, Math.min(MAX_ROWS_PER_BLOCK, Math.floor(PRODUCT_FLOATS / count)));
  for (let start = 0; start < count; start += rowsPerBlock) {
    throwIfCancelled(signal);
    const rows = Math.min(rowsPerBlock, count - start);
    visit(start, rows, await kernel.multiplyTransposed(centred.subarray(start * dims, (start + rows) * dims), rows, centred, count, dims), norms);
    await yieldToEventLoop();
  }
}

/**
 * Finds every point's exact nearest neighbours (squared Euclidean distance), ties going to the lower index.
 *
 * await nearestNeighbors({ data, count: 4, dims: 1 }, { neighbors: 1 }) // data 0, 1, 5, 7
 * // { indices: Int32Array [1, 0, 3, 2], squaredDistances: Float32Array [1, 1, 4, 4], ... }
 */
export async function nearestNeighbors(vectors: VectorSet, options: NearestNeighborOptions): Promise<NeighborLists> {
  const { count, dims } = vectors;
  const { neighbors, signal, onProgress } = options;
  if (vectors.data.length !== count * dims) throw new Error('Vector data does not match count x dims.');
  if (!Number.isInteger(neighbors) || neighbors < 1 || neighbors >= count) {
    throw new Error(`Cannot find ${neighbors} neighbours among ${count} images: choose between 1 and ${count - 1}.`);
  }
  const kernel = options.kernel ?? (await fastestKernel());
  const { data, norms } = centered(vectors);
  const lists = new CandidateLists(count, neighbors);
  const rowsPerBlock = Math.max(1, options.rowsPerBlock ?? Math.min(MAX_ROWS_PER_BLOCK, Math.floor(PRODUCT_FLOATS / count)));
  const totalPairs = (count * (count + 1)) / 2;
  let pairsDone = 0;
  for (let start = 0; start < count; start += rowsPerBlock) {
    throwIfCancelled(signal);
    const rows = Math.min(rowsPerBlock, count - start);
    const width = count - start;
    // Rows [start, start + rows) against every point from `start` on: the pairs with j < start were seen
    // from the other side in an earlier block.
    const products = await kernel.multiplyTransposed(
      data.subarray(start * dims, (start + rows) * dims),
      rows,
      data.subarray(start * dims),
      width,
      dims,
    );
    offerBlock(products, start, rows, start, width, norms, lists, true);
    pairsDone += rows * width - (rows * (rows - 1)) / 2;
    onProgress?.({ fraction: Math.min(1, pairsDone / totalPairs), message: `Nearest neighbours: ${start + rows} of ${count} images` });
    await yieldToEventLoop();
  }
  const squaredDistances = new Float32Array(count * neighbors);
  for (let index = 0; index < squaredDistances.length; index++) squaredDistances[index] = Math.max(0, lists.distances[index]!);
  return { count, neighbors, indices: lists.indices, squaredDistances };
}

/**
 * The symmetric connectivity affinity 0.5 (A + A^T) of a neighbour graph, where A[i][j] = 1 when j is one of
 * i's neighbours and (with `includeSelf`) A[i][i] = 1: scikit-learn's SpectralClustering with
 * affinity='nearest_neighbors' (kneighbors_graph(include_self=True), then symmetrised). Entries are 1 for
 * mutual neighbours and for the diagonal, 0.5 for one-way neighbours.
 */
export function connectivityAffinity(lists: NeighborLists, includeSelf = true): SparseMatrix {
  const { count, neighbors, indices } = lists;
  const rowCounts = new Int32Array(count + 1);
  for (let point = 0; point < count; point++) {
    rowCounts[point] = rowCounts[point]! + neighbors + (includeSelf ? 1 : 0);
    for (let slot = 0; slot < neighbors; slot++) {
      const other = indices[point * neighbors + slot]!;
      rowCounts[other] = rowCounts[other]! + 1;
    }
  }
  const fillStart = new Int32Array(count + 1);
  for (let point = 0; point < count; point++) fillStart[point + 1] = fillStart[point]! + rowCounts[point]!;
  const fill = fillStart.slice(0, count);
  const rawColumns = new Int32Array(fillStart[count]!);
  const rawValues = new Float64Array(fillStart[count]!);
  const add = (row: number, column: number, value: number) => {
    const position = fill[row]!++;
    rawColumns[position] = column;
    rawValues[position] = value;
  };
  for (let point = 0; point < count; point++) {
    if (includeSelf) add(point, point, 1);
    for (let slot = 0; slot < neighbors; slot++) {
      const other = indices[point * neighbors + slot]!;
      add(point, other, 0.5);
      add(other, point, 0.5);
    }
  }
  // Sort each row by column and merge duplicates (a mutual pair arrives once from each side).
  const rowStart = new Int32Array(count + 1);
  const columns = new Int32Array(rawColumns.length);
  const values = new Float64Array(rawColumns.length);
  let written = 0;
  const order: number[] = [];
  for (let row = 0; row < count; row++) {
    rowStart[row] = written;
    order.length = 0;
    for (let position = fillStart[row]!; position < fillStart[row + 1]!; position++) order.push(position);
    order.sort((a, b) => rawColumns[a]! - rawColumns[b]!);
    for (const position of order) {
      const column = rawColumns[position]!;
      if (written > rowStart[row]! && columns[written - 1] === column) {
        values[written - 1] = values[written - 1]! + rawValues[position]!;
      } else {
        columns[written] = column;
        values[written] = rawValues[position]!;
        written++;
      }
    }
  }
  rowStart[count] = written;
  return { size: count, rowStart, columns: columns.slice(0, written), values: values.slice(0, written) };
}

/**
 * The k-nearest-neighbour affinity of scikit-learn's SpectralClustering(affinity='nearest_neighbors'):
 * `neighbors` counts the point itself, so each point links to its neighbors - 1 nearest others. Above
 * `approximateAbove` points the neighbours are approximate and `search.recall` says how many were found.
 *
 * await knnGraph(vectors, { neighbors: 10 })
 * // { affinity: { size: N, rowStart, columns, values }, search: { method: 'exact', recall: 1, sampledQueries: 0 } }
 */
export async function knnGraph(vectors: VectorSet, options: AffinityOptions = {}): Promise<NeighborGraph> {
  const requested = options.neighbors ?? 10;
  if (!Number.isInteger(requested) || requested < 2) throw new Error(`The number of neighbours must be a whole number of at least 2, not ${requested}.`);
  // scikit-learn refuses more neighbours than points; clamping keeps tiny selections usable.
  const neighbors = Math.min(requested, vectors.count) - 1;
  if (neighbors < 1) throw new Error(`Cannot build a neighbour graph of ${vectors.count} image(s): choose at least 2.`);
  if (vectors.count > (options.approximateAbove ?? APPROXIMATE_ABOVE)) {
    const lists = await partitionedNeighbors(vectors, {
      neighbors,
      kernel: options.kernel,
      seed: options.seed,
      targetRecall: options.targetRecall,
      // Only which points are neighbours enters the connectivity affinity, not their distances.
      quantize: true,
      signal: options.signal,
      onProgress: options.onProgress,
    });
    // Short of the target within its work budget (data whose neighbours the partition does not follow): the
    // exact search then costs less than searching on.
    if (lists.recall >= (options.targetRecall ?? 0.95)) {
      return {
        affinity: connectivityAffinity(lists, true),
        search: { method: 'partitioned', recall: lists.recall, sampledQueries: lists.sampledQueries },
        partition: { labels: lists.labels, lists: lists.lists },
      };
    }
  }
  const lists = await nearestNeighbors(vectors, { neighbors, kernel: options.kernel, signal: options.signal, onProgress: options.onProgress });
  return { affinity: connectivityAffinity(lists, true), search: { method: 'exact', recall: 1, sampledQueries: 0 } };
}

/**
 * The same matrix with its points renumbered: point `order[i]` becomes point i (P A P^T for the permutation
 * P), each row's columns ascending again. Numbering points list by list puts most of a point's neighbours
 * next to it, so products with the matrix read nearby rows of a block instead of rows scattered over it.
 *
 * permuteSymmetric(matrix, Int32Array.of(2, 0, 1)) // old point 2 is row 0, old 0 is row 1, old 1 is row 2
 */
export function permuteSymmetric(matrix: SparseMatrix, order: Int32Array): SparseMatrix {
  const { size, rowStart, columns, values } = matrix;
  if (order.length !== size) throw new Error('The order must list every point once.');
  const position = new Int32Array(size);
  for (let index = 0; index < size; index++) position[order[index]!] = index;
  const newStart = new Int32Array(size + 1);
  for (let row = 0; row < size; row++) newStart[row + 1] = newStart[row]! + rowStart[order[row]! + 1]! - rowStart[order[row]!]!;
  const newColumns = new Int32Array(columns.length);
  const newValues = new Float64Array(values.length);
  for (let row = 0; row < size; row++) {
    const source = order[row]!;
    const first = newStart[row]!;
    let written = first;
    for (let entry = rowStart[source]!; entry < rowStart[source + 1]!; entry++) {
      // Insertion keeps the row's columns ascending (rows hold a few dozen entries).
      const column = position[columns[entry]!]!;
      const value = values[entry]!;
      let slot = written++;
      while (slot > first && newColumns[slot - 1]! > column) {
        newColumns[slot] = newColumns[slot - 1]!;
        newValues[slot] = newValues[slot - 1]!;
        slot--;
      }
      newColumns[slot] = column;
      newValues[slot] = value;
    }
  }
  return { size, rowStart: newStart, columns: newColumns, values: newValues };
}

/**
 * The k-nearest-neighbour affinity alone (see knnGraph).
 *
 * await knnAffinity(vectors, { neighbors: 10 }) // { size: N, rowStart: Int32Array(N + 1), columns, values }
 */
export async function knnAffinity(vectors: VectorSet, options: AffinityOptions = {}): Promise<SparseMatrix> {
  return (await knnGraph(vectors, options)).affinity;
}
