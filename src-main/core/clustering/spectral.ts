/**
 * Spectral clustering on a k-nearest-neighbour graph, following scikit-learn's
 * SpectralClustering(affinity='nearest_neighbors', eigen_solver='lobpcg', assign_labels='cluster_qr'):
 * (1) the symmetrised connectivity graph 0.5 (A + A^T) with each point among its own neighbours;
 * (2) the eigenvectors of the k smallest eigenvalues of the normalised Laplacian L = I - D^-1/2 A D^-1/2
 * (self-loops ignored, as scipy's csgraph.laplacian does), found as the k largest of D^-1/2 A D^-1/2 by
 * LOBPCG started from D^1/2 1 (or, on an approximate graph, from the eigenvectors of a coarse problem on the
 * search's partition, see coarseStart), then scaled row-wise by D^-1/2 (von Luxburg 2007, section 3.2; Ng, Jordan
 * and Weiss 2002 use the same subspace); (3) labels by cluster_qr (Damle et al. 2019) or k-means.
 */
import type { LongWorkOptions, Progress } from '../util/progress';
import { throwIfCancelled } from '../util/progress';
import { clusterQr } from './cluster-qr';
import { kmeans, type VectorSet } from './kmeans';
import { knnGraph, permuteSymmetric, type NeighborSearchReport, type SparseMatrix } from './knn-graph';
import { symmetricEigen } from './linear-algebra';
import { type BlockVectors, lobpcg, type SymmetricOperator } from './lobpcg';
import type { MatrixKernel } from './matrix-kernel';
import { fastestKernel } from './matrix-kernel';
import { listOrder } from './partitioned-knn';

/** Settings of a spectral clustering run. */
export interface SpectralOptions extends LongWorkOptions {
  /** Number of clusters, 1..count. */
  k: number;
  /**
   * Neighbours per image in the graph, the image itself included (scikit-learn's n_neighbors). Fewer give a
   * sparser graph that follows thin, curved clusters but may fall apart into pieces. Default 10.
   */
  neighbors?: number;
  /** Seed of the eigensolver's random start and of k-means; the same seed gives the same labels. Default 0. */
  seed?: number;
  /** How labels are read off the embedding: 'cluster_qr' (deterministic, fast) or 'kmeans' (10 restarts). Default 'cluster_qr'. */
  assignLabels?: 'cluster_qr' | 'kmeans';
  /** Residual tolerance of the eigensolver; default scipy's sqrt(2^-52) x count. */
  tolerance?: number;
  /** Upper bound on eigensolver iterations. Default 2000, as scikit-learn. */
  maxIterations?: number;
  /** Matrix-product kernel; default onnxruntime with non-spinning threads (see matrix-kernel.ts). */
  kernel?: MatrixKernel;
  /** Above this many images the neighbour graph is approximate (knn-graph.ts' APPROXIMATE_ABOVE by default). */
  approximateAbove?: number;
  /**
   * Sampled recall@k the approximate graph must reach, in 0..1; higher costs more search (see
   * partitioned-knn.ts). Default SPECTRAL_NEIGHBOR_RECALL.
   */
  neighborRecall?: number;
}

/**
 * Default recall of an approximate graph for clustering: the search makes one pass of 8 probes and doubles
 * them only below this, a sign that the partition failed. Neighbours the partitioned search misses are
 * mostly in other clusters, whose edges blur the clusters anyway: on the 1024-d benchmark blobs the first
 * pass found recall 0.85 at 50,000 points (ARI 0.9993, the exact graph's 0.994) and 0.62 at 200,000 (see
 * README), while recall 0.95 at 50,000 costs about two thirds of the exact search.
 */
export const SPECTRAL_NEIGHBOR_RECALL = 0.5;

/** Labels in 0..k-1, the k smallest normalised-Laplacian eigenvalues (ascending; 0 per connected component), and time per stage. */
export interface SpectralResult {
  labels: Int32Array;
  eigenvalues: Float64Array;
  /** The spectral embedding the labels come from (row-major count x k), scaled and sign-fixed as scikit-learn's. */
  embedding: Float64Array;
  /** Eigensolver iterations, and whether every wanted vector met the tolerance. */
  iterations: number;
  converged: boolean;
  seconds: { graph: number; eigen: number; assign: number };
  /** How the neighbour graph was searched, with the sampled recall of an approximate one. */
  neighborSearch: NeighborSearchReport;
}

/**
 * Y = M X for a CSR matrix M and a row-major block X, in X's precision (LOBPCG keeps big blocks in
 * float32). Entries are taken four at a time so each row of Y is read and written once per four: about
 * twice as fast as one at a time (measured 14-16 ms against 33 ms for 10000 rows, 17 entries each, 55 columns).
 */
function sparseTimesBlock(rowStart: Int32Array, columns: Int32Array, values: Float64Array, block: BlockVectors, blockColumns: number): BlockVectors {
  const size = rowStart.length - 1;
  const result = block instanceof Float32Array ? new Float32Array(size * blockColumns) : new Float64Array(size * blockColumns);
  for (let row = 0; row < size; row++) {
    const target = row * blockColumns;
    const end = rowStart[row + 1]!;
    let entry = rowStart[row]!;
    for (; entry + 3 < end; entry += 4) {
      const first = values[entry]!;
      const second = values[entry + 1]!;
      const third = values[entry + 2]!;
      const fourth = values[entry + 3]!;
      const firstSource = columns[entry]! * blockColumns;
      const secondSource = columns[entry + 1]! * blockColumns;
      const thirdSource = columns[entry + 2]! * blockColumns;
      const fourthSource = columns[entry + 3]! * blockColumns;
      for (let column = 0; column < blockColumns; column++) {
        result[target + column] =
          result[target + column]! +
          first * block[firstSource + column]! +
          second * block[secondSource + column]! +
          third * block[thirdSource + column]! +
          fourth * block[fourthSource + column]!;
      }
    }
    for (; entry < end; entry++) {
      const value = values[entry]!;
      const source = columns[entry]! * blockColumns;
      for (let column = 0; column < blockColumns; column++) result[target + column] = result[target + column]! + value * block[source + column]!;
    }
  }
  return result;
}

/** D^-1/2 A D^-1/2 without the diagonal, and D^1/2 (1 for isolated points), as scipy's normalised Laplacian uses them. */
export function normalizedAdjacency(affinity: SparseMatrix): { operator: SymmetricOperator; sqrtDegrees: Float64Array } {
  const { size, rowStart, columns, values } = affinity;
  const sqrtDegrees = new Float64Array(size);
  for (let row = 0; row < size; row++) {
    let degree = 0;
    for (let entry = rowStart[row]!; entry < rowStart[row + 1]!; entry++) if (columns[entry] !== row) degree += values[entry]!;
    sqrtDegrees[row] = degree > 0 ? Math.sqrt(degree) : 1;
  }
  const start = new Int32Array(size + 1);
  const normalizedColumns = new Int32Array(columns.length);
  const normalizedValues = new Float64Array(columns.length);
  let written = 0;
  for (let row = 0; row < size; row++) {
    start[row] = written;
    for (let entry = rowStart[row]!; entry < rowStart[row + 1]!; entry++) {
      const column = columns[entry]!;
      if (column === row) continue;
      normalizedColumns[written] = column;
      normalizedValues[written] = values[entry]! / (sqrtDegrees[row]! * sqrtDegrees[column]!);
      written++;
    }
  }
  start[size] = written;
  const operator: SymmetricOperator = {
    size,
    multiply: (block, blockColumns) => sparseTimesBlock(start, normalizedColumns, normalizedValues, block, blockColumns),
  };
  return { operator, sqrtDegrees };
}

/**
 * Steps of x <- (x + M x) / 2 applied to the random start of the eigensolver. The eigenvalues mu of M lie in
 * [-1, 1]; each step scales the component along mu by (1 + mu) / 2, so twelve steps shrink a component at
 * mu = 0.5 to 3% while the wanted ones near 1 stay. Each step costs one sparse product, a fraction of an
 * LOBPCG iteration. Measured (N = 10000, D = 1024, K = 50): 11 -> 5 iterations on separated blobs and
 * 15 -> 9 on overlapping ones (8 steps: 7 and 11). LOBPCG falls back to the plain random start when the
 * filtered block is too close to dependent for float32.
 */
const START_SMOOTHING_STEPS = 12;

/** Applies `steps` times x <- (x + M x) / 2 to a block of vectors. */
function smoothBlock(operator: SymmetricOperator, block: BlockVectors, columns: number, steps: number): BlockVectors {
  let current = block;
  for (let step = 0; step < steps; step++) {
    const image = operator.multiply(current, columns);
    for (let index = 0; index < image.length; index++) image[index] = 0.5 * (image[index]! + current[index]!);
    current = image;
  }
  return current;
}

/**
 * Start vectors from a coarse version of the problem (two-level aggregation, as algebraic multigrid's
 * coarse grid): the points of each partition list are merged, the coarse affinity H[a][b] is the affinity
 * summed between lists a and b (self-loops left out) and the coarse degrees G[a] the degrees summed per
 * list; the generalized eigenvectors of H c = mu G c with the largest mu, spread back as x_i = D^1/2_i c[list
 * of i], are the best approximations of the wanted eigenvectors among vectors D^1/2 (constant per list).
 * When lists are about clusters, as the partition's k-means lists are, those are close to the answer.
 * Returns up to `columns` vectors (row-major count x columns), fewer when there are fewer lists.
 */
export function coarseStart(
  affinity: SparseMatrix,
  sqrtDegrees: Float64Array,
  labels: Int32Array,
  lists: number,
  columns: number,
): { vectors: Float64Array; columns: number } {
  const { size, rowStart, columns: affinityColumns, values } = affinity;
  const coarse = new Float64Array(lists * lists);
  const coarseDegrees = new Float64Array(lists);
  for (let row = 0; row < size; row++) {
    const a = labels[row]!;
    for (let entry = rowStart[row]!; entry < rowStart[row + 1]!; entry++) {
      const column = affinityColumns[entry]!;
      if (column === row) continue;
      coarse[a * lists + labels[column]!] = coarse[a * lists + labels[column]!]! + values[entry]!;
    }
    coarseDegrees[a] = coarseDegrees[a]! + sqrtDegrees[row]! * sqrtDegrees[row]!;
  }
  // G^-1/2 H G^-1/2 y = mu y, c = G^-1/2 y; an empty list has no degree and gets a zero row.
  const scale = Float64Array.from(coarseDegrees, (degree) => (degree > 0 ? 1 / Math.sqrt(degree) : 0));
  for (let a = 0; a < lists; a++) for (let b = 0; b < lists; b++) coarse[a * lists + b] = coarse[a * lists + b]! * scale[a]! * scale[b]!;
  const { vectors } = symmetricEigen(coarse, lists);
  const kept = Math.min(columns, lists);
  const result = new Float64Array(size * kept);
  for (let row = 0; row < size; row++) {
    const list = labels[row]!;
    // symmetricEigen orders ascending: the largest mu are the last columns.
    for (let column = 0; column < kept; column++) result[row * kept + column] = sqrtDegrees[row]! * scale[list]! * vectors[list * lists + lists - 1 - column]!;
  }
  return { vectors: result, columns: kept };
}

/** Maps a stage's own 0..1 progress into [from, to] of the whole run. */
function stageProgress(onProgress: ((progress: Progress) => void) | undefined, from: number, to: number) {
  return onProgress && ((progress: Progress) => onProgress({ fraction: from + (to - from) * progress.fraction, message: progress.message }));
}

/**
 * Clusters vectors into k groups by spectral clustering on their nearest-neighbour graph.
 *
 * await spectralClustering({ data, count: 600, dims: 32 }, { k: 8, seed: 0 })
 * // { labels: Int32Array(600) in 0..7, eigenvalues: Float64Array(8) [0, 0.127, ..., 0.26], embedding: Float64Array(4800),
 * //   iterations: 11, converged: true, seconds: { graph: 0.05, eigen: 0.3, assign: 0.02 } }  (test/fixtures data)
 */
export async function spectralClustering(vectors: VectorSet, options: SpectralOptions): Promise<SpectralResult> {
  const { k, neighbors = 10, seed = 0, assignLabels = 'cluster_qr', signal, onProgress } = options;
  if (!Number.isInteger(k) || k < 1) throw new Error(`The number of clusters must be a whole number of at least 1, not ${k}.`);
  if (k > vectors.count) throw new Error(`Cannot make ${k} clusters from ${vectors.count} images: choose at most ${vectors.count}.`);
  if (vectors.data.length !== vectors.count * vectors.dims) throw new Error('Vector data does not match count x dims.');
  if (vectors.count < 2) return single(vectors.count);
  const kernel = options.kernel ?? (await fastestKernel());
  const count = vectors.count;

  let started = performance.now();
  const graph = await knnGraph(vectors, {
    neighbors,
    kernel,
    seed,
    approximateAbove: options.approximateAbove,
    targetRecall: options.neighborRecall ?? SPECTRAL_NEIGHBOR_RECALL,
    signal,
    onProgress: stageProgress(onProgress, 0, 0.6),
  });
  const affinity = graph.affinity;
  const graphSeconds = (performance.now() - started) / 1000;

  started = performance.now();
  throwIfCancelled(signal);
  // With a partition the eigenproblem is solved with the points numbered list by list (`order[i]` is the
  // point solved as i): a point's neighbours then mostly sit near it in every block, and the sparse
  // products, which read one block row per graph entry, mostly hit the cache. Measured at N = 200,000,
  // K = 160: the products took 24 s of the solve in the original numbering.
  const order = graph.partition && listOrder(graph.partition.labels, graph.partition.lists).order;
  const solved = order ? permuteSymmetric(affinity, order) : affinity;
  const { operator, sqrtDegrees } = normalizedAdjacency(solved);
  // The approximate search's partition gives a coarse problem whose eigenvectors start the solver near the
  // answer; without one the start is D^1/2 1 (the top eigenvector) and random vectors.
  const start =
    graph.partition && order
      ? coarseStart(solved, sqrtDegrees, Int32Array.from(order, (point) => graph.partition!.labels[point]!), graph.partition.lists, k + Math.max(2, Math.ceil(k / 10)))
      : { vectors: sqrtDegrees, columns: 1 };
  const solution = await lobpcg(operator, {
    count: k,
    seed,
    tolerance: options.tolerance,
    maxIterations: options.maxIterations ?? 2000,
    initialVectors: start.vectors,
    initialColumns: start.columns,
    filterStart: (block, columns) => smoothBlock(operator, block, columns, START_SMOOTHING_STEPS),
    kernel,
    signal,
    onProgress: stageProgress(onProgress, 0.6, 0.95),
  });
  // Laplacian eigenvalues 1 - mu, ascending; the embedding u = D^-1/2 x, each vector's largest entry positive.
  const eigenvalues = solution.values.map((value) => Math.max(0, 1 - value));
  const embedding = new Float64Array(count * k);
  for (let row = 0; row < count; row++) {
    // Back to the caller's numbering.
    const point = order ? order[row]! : row;
    for (let column = 0; column < k; column++) embedding[point * k + column] = solution.vectors[row * k + column]! / sqrtDegrees[row]!;
  }
  for (let column = 0; column < k; column++) {
    let largest = 0;
    for (let row = 1; row < count; row++) if (Math.abs(embedding[row * k + column]!) > Math.abs(embedding[largest * k + column]!)) largest = row;
    if (embedding[largest * k + column]! < 0) for (let row = 0; row < count; row++) embedding[row * k + column] = -embedding[row * k + column]!;
  }
  const eigenSeconds = (performance.now() - started) / 1000;

  started = performance.now();
  throwIfCancelled(signal);
  onProgress?.({ fraction: 0.95, message: `Assigning labels (${assignLabels})` });
  let labels: Int32Array;
  if (assignLabels === 'kmeans') {
    const result = await kmeans({ data: Float32Array.from(embedding), count, dims: k }, { k, seed, restarts: 10, kernel, signal });
    labels = result.labels;
  } else {
    labels = await clusterQr(embedding, count, k, kernel);
  }
  const assignSeconds = (performance.now() - started) / 1000;
  onProgress?.({ fraction: 1, message: `Spectral clustering done: ${k} clusters` });
  return {
    labels,
    eigenvalues,
    embedding,
    iterations: solution.iterations,
    converged: solution.converged,
    seconds: { graph: graphSeconds, eigen: eigenSeconds, assign: assignSeconds },
    neighborSearch: graph.search,
  };
}

/** The trivial answer for zero or one image, where no graph exists. */
function single(count: number): SpectralResult {
  return {
    labels: new Int32Array(count),
    eigenvalues: new Float64Array(count),
    embedding: new Float64Array(count).fill(1),
    iterations: 0,
    converged: true,
    seconds: { graph: 0, eigen: 0, assign: 0 },
    neighborSearch: { method: 'exact', recall: 1, sampledQueries: 0 },
  };
}
