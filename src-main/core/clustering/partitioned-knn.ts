/**
 * Approximate k-nearest neighbours for large sets by partitioning (an inverted-file search, Jegou, Douze and
 * Schmid 2011, "Product quantization for nearest neighbor search", IEEE TPAMI 33(1), section IV-A, without
 * the quantization): k-means on a sample splits the points into lists of about `pointsPerList` (lists over
 * twice that are split again); each point is compared exactly, by matrix multiply, with the members of the
 * `probes` lists whose centres are nearest to it. Queries are grouped by probed list, so the work is one
 * product per list, about N^2 x probes / lists x D multiply-adds in all (the exact search does N^2 / 2 x D),
 * all of it in the fast matrix kernel; each pair found feeds both points' lists.
 *
 * Why not a graph index: usearch's HNSW (npm `usearch` 2.26.2, prebuilt, AVX-512 kernels, 2 threads) took on
 * the benchmark's 1024-d blobs at N = 10,000 12.8 s to build (M = 16, ef 128) and 6.2 s to query every point,
 * for recall 0.90 (2 shared cores, load about 2), where the exact graph takes about 2 s: every distance reads
 * a whole 4 KB vector from memory, while the products here run compute-bound at tens of GFLOP/s.
 *
 * The recall is measured, not assumed: a seeded sample of queries gets exact neighbours, and while the
 * sampled recall@k is below `targetRecall` the probes double and only the newly probed lists are searched.
 * How much search a recall costs depends on the data: on the benchmark blobs (unit noise in 1024-d around
 * centres only 11 apart) many of a point's nearest neighbours lie in other clusters, spread over nearly all of
 * them, and at 50,000 points recall 0.85 took 15% of the exact search's distances, 0.91 31% and 0.96 63%.
 * The result is deterministic for a seed (k-means is seeded; the products and the merge run in a fixed order).
 */
import { type LongWorkOptions, throwIfCancelled, yieldToEventLoop } from '../util/progress';
import { deriveSeed, sampleRows, seededRandom } from '../util/random';
import { gatherRows, squaredRowNorms } from '../util/rows';
import { CandidateLists, offerGatheredBlock } from './candidate-lists';
import { kmeans, type VectorSet } from './kmeans';
import { fastestKernel, type MatrixKernel } from './matrix-kernel';
import { quantizeRows, type RowCodes, transposedBlocks } from './quantized-rows';

/** Settings of the partitioned neighbour search. */
export interface PartitionedSearchOptions extends LongWorkOptions {
  /** Other points to find per point (the point itself excluded), at least 1 and below the number of points. */
  neighbors: number;
  /** Matrix-product kernel; default onnxruntime with non-spinning threads (see matrix-kernel.ts). */
  kernel?: MatrixKernel;
  /** Seed of the k-means partition and of the recall sample. Default 0. */
  seed?: number;
  /**
   * Average points per list. Larger lists make each product bigger (faster per multiply-add) and the
   * partition coarser (more work for the same recall). Default 400.
   */
  pointsPerList?: number;
  /** Lists searched per point in the first pass (its own among them). Default 8. */
  probes?: number;
  /** Sampled recall@k to reach, in 0..1; the probes double until it is reached. Default 0.95. */
  targetRecall?: number;
  /**
   * Most distances to compute, as a fraction of the exact search's count x (count - 1) / 2: no pass starts that
   * would go past it, and the result then falls short of `targetRecall`. Default 0.5.
   */
  maxWorkFraction?: number;
  /** Queries in the recall sample (exact neighbours cost one pass over the data per 256). Default 256. */
  recallSample?: number;
  /**
   * Compare points by 8-bit integer products where the kernel has them (quantized-rows.ts): 2-3 times the
   * speed, at the price of distances off by the rounding (about 1% of a squared distance), so a near tie
   * for the last neighbour may go either way; the recall is still measured against exact float32
   * neighbours. Default false: the returned distances are exact float32 ones.
   */
  quantize?: boolean;
}

/** Neighbour lists of the partitioned search and what it measured. */
export interface PartitionedNeighborLists {
  count: number;
  neighbors: number;
  indices: Int32Array;
  squaredDistances: Float32Array;
  /** Fraction of the sampled queries' exact k nearest neighbours that were found, in 0..1. */
  recall: number;
  /** Queries in the recall sample. */
  sampledQueries: number;
  /** Distances computed, as a fraction of the exact search's count x (count - 1) / 2. */
  workFraction: number;
  /** Lists of the partition and the probes per point of the last pass. */
  lists: number;
  /** The list of each point (0..lists-1): a coarse clustering, which spectral.ts uses for its start vectors. */
  labels: Int32Array;
  probes: number;
}

const DEFAULT_POINTS_PER_LIST = 400;
const DEFAULT_PROBES = 8;
// k-means on about this many sampled points per list: enough for the centres, a small part of the time.
const SAMPLE_PER_LIST = 32;
// Lloyd iterations of the partition: its quality barely matters beyond a few, the recall check covers it.
const PARTITION_ITERATIONS = 12;
// Rows per product when assigning points to lists or sampling exact neighbours (keeps products under 64 MB).
const PRODUCT_FLOATS = 16 * 1024 * 1024;
/**
 * Integer products of a list come in blocks of at most this many (2 MB), so the graph's scaling steps after
 * the product pass over intermediates that stay in cache (see kmeans.ts' MEASURE_FLOATS).
 */
const QUANTIZED_PRODUCT_FLOATS = 512 * 1024;

/**
 * For each point, the lists ranked `from`..`to - 1` by |x - centre|^2 + offset[list] (0 = smallest), row-major
 * count x (to - from), by products of row blocks against the centres.
 */
async function rankCentres(
  vectors: VectorSet,
  centres: Float32Array,
  offsets: Float64Array,
  lists: number,
  from: number,
  to: number,
  kernel: MatrixKernel,
  signal?: AbortSignal,
): Promise<Int32Array> {
  const { data, count, dims } = vectors;
  const centreNorms = squaredRowNorms(centres, lists, dims);
  for (let list = 0; list < lists; list++) centreNorms[list] = centreNorms[list]! + offsets[list]!;
  const width = to - from;
  const ranked = new Int32Array(count * width);
  const bestLists = new Int32Array(to);
  const bestDistances = new Float64Array(to);
  const rowsPerBlock = Math.max(1, Math.min(4096, Math.floor(PRODUCT_FLOATS / lists)));
  for (let start = 0; start < count; start += rowsPerBlock) {
    throwIfCancelled(signal);
    const rows = Math.min(rowsPerBlock, count - start);
    const products = await kernel.multiplyTransposed(data.subarray(start * dims, (start + rows) * dims), rows, centres, lists, dims);
    for (let row = 0; row < rows; row++) {
      // Insertion into a sorted list of the `to` best, ties to the lower list.
      bestDistances.fill(Infinity);
      for (let list = 0; list < lists; list++) {
        const distance = centreNorms[list]! - 2 * products[row * lists + list]!;
        if (distance >= bestDistances[to - 1]!) continue;
        let position = to - 1;
        while (position > 0 && bestDistances[position - 1]! > distance) {
          bestDistances[position] = bestDistances[position - 1]!;
          bestLists[position] = bestLists[position - 1]!;
          position--;
        }
        bestDistances[position] = distance;
        bestLists[position] = list;
      }
      ranked.set(bestLists.subarray(from, to), (start + row) * width);
    }
    await yieldToEventLoop();
  }
  return ranked;
}

/**
 * Splits every list of more than twice `pointsPerList` points by k-means on its own points, numbering the new
 * lists from `lists` on; returns the new list count. k-means on a sample often merges several clusters into
 * one list (measured at 50,000 x 1024, 63 lists: 1 to 178 sample points per list), and such a list costs
 * twice: it is big, and its centre, an average of several, lies near every point, so nearly every point
 * probes it (the search did 2.3 times the work of balanced lists).
 */
async function splitLargeLists(
  vectors: VectorSet,
  labels: Int32Array,
  lists: number,
  pointsPerList: number,
  seed: number,
  kernel: MatrixKernel,
  signal?: AbortSignal,
): Promise<number> {
  const { data, count, dims } = vectors;
  const sizes = new Int32Array(lists);
  for (let point = 0; point < count; point++) sizes[labels[point]!] = sizes[labels[point]!]! + 1;
  let next = lists;
  for (let list = 0; list < lists; list++) {
    if (sizes[list]! <= 2 * pointsPerList) continue;
    throwIfCancelled(signal);
    const members = new Int32Array(sizes[list]!);
    let filled = 0;
    for (let point = 0; point < count; point++) if (labels[point] === list) members[filled++] = point;
    const parts = Math.ceil(members.length / pointsPerList);
    const memberData = gatherRows(data, dims, members);
    const sample = sampleRows(members.length, Math.min(members.length, parts * SAMPLE_PER_LIST), seededRandom(deriveSeed(seed, 3 + list))).sort();
    const split = await kmeans(
      { data: gatherRows(memberData, dims, sample), count: sample.length, dims },
      { k: parts, restarts: 1, maxIterations: PARTITION_ITERATIONS, seed: deriveSeed(seed, list), kernel, signal },
    );
    const partOf = await rankCentres({ data: memberData, count: members.length, dims }, split.centers, new Float64Array(parts), parts, 0, 1, kernel, signal);
    for (let index = 0; index < members.length; index++) if (partOf[index]! > 0) labels[members[index]!] = next + partOf[index]! - 1;
    next += parts - 1;
  }
  return next;
}

/** Exact neighbours (original indices) of the sampled queries, `neighbors` per query, by products against all points. */
async function exactSampleNeighbors(vectors: VectorSet, queries: Int32Array, neighbors: number, kernel: MatrixKernel, signal?: AbortSignal): Promise<Int32Array> {
  const { data, count, dims } = vectors;
  const norms = squaredRowNorms(data, count, dims);
  const queryData = gatherRows(data, dims, queries);
  const lists = new CandidateLists(queries.length, neighbors);
  const columnsPerBlock = Math.max(1, Math.floor(PRODUCT_FLOATS / queries.length));
  for (let start = 0; start < count; start += columnsPerBlock) {
    throwIfCancelled(signal);
    const columns = Math.min(columnsPerBlock, count - start);
    const products = await kernel.multiplyTransposed(queryData, queries.length, data.subarray(start * dims, (start + columns) * dims), columns, dims);
    for (let query = 0; query < queries.length; query++) {
      const self = queries[query]!;
      let worst = lists.worst[query]!;
      for (let column = 0; column < columns; column++) {
        const other = start + column;
        if (other === self) continue;
        const distance = norms[other]! - 2 * products[query * columns + column]!;
        if (distance < worst) {
          lists.insert(query, other, distance);
          worst = lists.worst[query]!;
        }
      }
    }
    await yieldToEventLoop();
  }
  return lists.indices;
}

/**
 * The points list by list (a stable counting sort of `labels`): `order[i]` is the i-th point in that order,
 * and list l holds positions `listStart[l]`..`listStart[l + 1] - 1`.
 *
 * listOrder(Int32Array.of(1, 0, 1), 2) // { order: Int32Array [1, 0, 2], listStart: Int32Array [0, 1, 3] }
 */
export function listOrder(labels: Int32Array, lists: number): { order: Int32Array; listStart: Int32Array } {
  const listStart = new Int32Array(lists + 1);
  for (const list of labels) listStart[list + 1] = listStart[list + 1]! + 1;
  for (let list = 0; list < lists; list++) listStart[list + 1] = listStart[list + 1]! + listStart[list]!;
  const order = new Int32Array(labels.length);
  const fill = listStart.slice(0, lists);
  for (let point = 0; point < labels.length; point++) order[fill[labels[point]!]!++] = point;
  return { order, listStart };
}

/**
 * Splits points into lists of about `pointsPerList` nearby points: k-means on a seeded sample (SAMPLE_PER_LIST
 * points per list), every point to its nearest centre, lists over twice the size split again. Returns each
 * point's list and the number of lists.
 *
 * await partitionPoints({ data, count: 50_000, dims: 1024 }, { pointsPerList: 400 }) // { labels: Int32Array(50000), lists: 131 }
 */
export async function partitionPoints(
  vectors: VectorSet,
  options: { pointsPerList: number; seed?: number; kernel?: MatrixKernel; signal?: AbortSignal },
): Promise<{ labels: Int32Array; lists: number }> {
  const { count, dims } = vectors;
  const { pointsPerList, seed = 0, signal } = options;
  const kernel = options.kernel ?? (await fastestKernel());
  const lists = Math.max(1, Math.min(count, Math.round(count / pointsPerList)));
  const sample = sampleRows(count, Math.min(count, lists * SAMPLE_PER_LIST), seededRandom(deriveSeed(seed, 1))).sort();
  const partition = await kmeans(
    { data: gatherRows(vectors.data, dims, sample), count: sample.length, dims },
    { k: lists, restarts: 1, maxIterations: PARTITION_ITERATIONS, seed, kernel, signal },
  );
  const labels = await rankCentres(vectors, partition.centers, new Float64Array(lists), lists, 0, 1, kernel, signal);
  return { labels, lists: await splitLargeLists(vectors, labels, lists, pointsPerList, seed, kernel, signal) };
}

/**
 * Finds approximately every point's nearest neighbours (squared Euclidean distance) and measures the recall.
 *
 * await partitionedNeighbors({ data, count: 200_000, dims: 1024 }, { neighbors: 9 })
 * // { indices: Int32Array(1_800_000), squaredDistances, recall: 0.99, sampledQueries: 256, lists: 250, probes: 8, ... }
 */
export async function partitionedNeighbors(vectors: VectorSet, options: PartitionedSearchOptions): Promise<PartitionedNeighborLists> {
  const { count, dims } = vectors;
  const { neighbors, signal, onProgress, seed = 0 } = options;
  if (vectors.data.length !== count * dims) throw new Error('Vector data does not match count x dims.');
  if (!Number.isInteger(neighbors) || neighbors < 1 || neighbors >= count) {
    throw new Error(`Cannot find ${neighbors} neighbours among ${count} images: choose between 1 and ${count - 1}.`);
  }
  const targetRecall = options.targetRecall ?? 0.95;
  const maxWorkFraction = options.maxWorkFraction ?? 0.5;
  const kernel = options.kernel ?? (await fastestKernel());
  const pointsPerList = options.pointsPerList ?? DEFAULT_POINTS_PER_LIST;

  // 1. The partition: k-means on a sample, then every point to its nearest centre.
  onProgress?.({ fraction: 0, message: `Nearest neighbours: splitting ${count} images into lists of about ${pointsPerList}` });
  const partition = await partitionPoints(vectors, { pointsPerList, seed, kernel, signal });
  const { labels } = partition;
  const lists = partition.lists;
  let probes = Math.max(1, Math.min(lists, options.probes ?? DEFAULT_PROBES));

  // 2. The points reordered list by list (a centred float32 copy, so each list is one contiguous block).
  const { order, listStart } = listOrder(labels, lists);
  const mean = new Float64Array(dims);
  for (let point = 0; point < count; point++) for (let index = 0; index < dims; index++) mean[index] = mean[index]! + vectors.data[point * dims + index]!;
  for (let index = 0; index < dims; index++) mean[index] = mean[index]! / count;
  const sorted = new Float32Array(count * dims);
  for (let position = 0; position < count; position++) {
    const source = order[position]! * dims;
    const target = position * dims;
    for (let index = 0; index < dims; index++) sorted[target + index] = vectors.data[source + index]! - mean[index]!;
  }
  // With integer products each list's codes are laid out once as the right operand of its products; rounding
  // the rows measures their norms on the way.
  const quantized = options.quantize && kernel.quantizedProducts ? quantizeRows(sorted, count, dims) : undefined;
  const norms = quantized?.squaredNorms ?? squaredRowNorms(sorted, count, dims);
  const listCodes = quantized && transposedBlocks(quantized, listStart);
  const gatheredCodes: RowCodes | undefined = quantized && { codes: new Uint8Array(0), scales: new Float32Array(0), count: 0, dims };

  // Probing ranks lists by the distance from the point to the mean of the list's members (recomputed on all
  // of them, one Lloyd step). Adding the list's spread, to rank by the mean distance to its members instead,
  // was measured worse (recall 0.83 against 0.996 at 20,000 points, 8 probes): the neighbours are the nearest
  // members, not typical ones.
  const centres = new Float32Array(lists * dims);
  const offsets = new Float64Array(lists);
  for (let list = 0; list < lists; list++) {
    const members = listStart[list + 1]! - listStart[list]!;
    if (members === 0) {
      // An empty list (k-means' sample centre won no point) is ranked last.
      offsets[list] = Number.MAX_VALUE / 4;
      continue;
    }
    const centre = new Float64Array(dims);
    for (let position = listStart[list]!; position < listStart[list + 1]!; position++) {
      for (let index = 0; index < dims; index++) centre[index] = centre[index]! + sorted[position * dims + index]!;
    }
    for (let index = 0; index < dims; index++) centres[list * dims + index] = centre[index]! / members;
  }
  const candidates = new CandidateLists(count, neighbors);

  // 3. Exact neighbours of a seeded sample of queries, to measure the recall after each pass.
  const queries = sampleRows(count, Math.min(count, options.recallSample ?? 256), seededRandom(deriveSeed(seed, 2))).sort();
  const truth = await exactSampleNeighbors(vectors, queries, neighbors, kernel, signal);
  const positionOf = new Int32Array(count);
  for (let position = 0; position < count; position++) positionOf[order[position]!] = position;
  const measureRecall = (): number => {
    let found = 0;
    for (let query = 0; query < queries.length; query++) {
      const base = positionOf[queries[query]!]! * neighbors;
      const got = new Set<number>();
      for (let slot = 0; slot < neighbors; slot++) got.add(candidates.indices[base + slot]!);
      for (let slot = 0; slot < neighbors; slot++) if (got.has(positionOf[truth[query * neighbors + slot]!]!)) found++;
    }
    return found / (queries.length * neighbors);
  };

  // 4. Passes: each point is searched against the lists whose centres are nearest to it (not to its own
  // list's centre: with 1024-d noise a good share of the nearest neighbours lie in other clusters, mostly
  // those whose centres are nearest to the point itself). Queries are grouped by probed list, so each list is
  // one product of its queries' rows against its own block; each pair found feeds both points' lists. While
  // the sampled recall is short of the target, the probes double and only the newly probed lists are searched.
  let recall = 0;
  let searched = 0;
  let pairsComputed = 0;
  for (;;) {
    const ranked = await rankCentres({ data: sorted, count, dims }, centres, offsets, lists, searched, probes, kernel, signal);
    const width = probes - searched;
    const queryStart = new Int32Array(lists + 1);
    for (let index = 0; index < ranked.length; index++) queryStart[ranked[index]! + 1] = queryStart[ranked[index]! + 1]! + 1;
    for (let list = 0; list < lists; list++) queryStart[list + 1] = queryStart[list + 1]! + queryStart[list]!;
    const queriesOf = new Int32Array(ranked.length);
    const queryFill = queryStart.slice(0, lists);
    for (let position = 0; position < count; position++) {
      for (let rank = 0; rank < width; rank++) queriesOf[queryFill[ranked[position * width + rank]!]!++] = position;
    }
    const total = ranked.length;
    let queriesDone = 0;
    for (let list = 0; list < lists; list++) {
      const columns = listStart[list + 1]! - listStart[list]!;
      const block = sorted.subarray(listStart[list]! * dims, listStart[list + 1]! * dims);
      const rowsPerProduct = Math.max(1, Math.min(8192, Math.floor((quantized ? QUANTIZED_PRODUCT_FLOATS : PRODUCT_FLOATS) / Math.max(1, columns))));
      for (let first = queryStart[list]!; first < queryStart[list + 1]!; first += rowsPerProduct) {
        throwIfCancelled(signal);
        const rowPoints = queriesOf.subarray(first, Math.min(queryStart[list + 1]!, first + rowsPerProduct));
        if (columns > 0) {
          let products: Float32Array;
          if (gatheredCodes) {
            if (gatheredCodes.codes.length < rowPoints.length * dims) {
              gatheredCodes.codes = new Uint8Array(rowPoints.length * dims);
              gatheredCodes.scales = new Float32Array(rowPoints.length);
            }
            gatheredCodes.count = rowPoints.length;
            for (let line = 0; line < rowPoints.length; line++) {
              const point = rowPoints[line]!;
              gatheredCodes.codes.set(quantized!.codes.subarray(point * dims, (point + 1) * dims), line * dims);
              gatheredCodes.scales[line] = quantized!.scales[point]!;
            }
            const columnCodes = {
              codes: listCodes!.subarray(listStart[list]! * dims, listStart[list + 1]! * dims),
              scales: quantized!.scales.subarray(listStart[list]!, listStart[list + 1]!),
              columns,
              dims,
            };
            products = await kernel.quantizedProducts!(gatheredCodes, 0, rowPoints.length, columnCodes);
          } else {
            products = await kernel.multiplyTransposed(gatherRows(sorted, dims, rowPoints), rowPoints.length, block, columns, dims);
          }
          offerGatheredBlock(products, rowPoints, listStart[list]!, columns, norms, candidates);
          pairsComputed += rowPoints.length * columns;
        }
        queriesDone += rowPoints.length;
        onProgress?.({
          fraction: Math.min(1, 0.05 + (0.95 * (searched + (width * queriesDone) / total)) / probes),
          message: `Nearest neighbours: ${probes} of ${lists} lists per image, list ${list + 1} of ${lists}`,
        });
        await yieldToEventLoop();
      }
    }
    searched = probes;
    recall = measureRecall();
    // A slot still empty (a point whose probed lists hold too few others) also calls for more probes;
    // with every list probed the search is exact and fills every slot.
    if ((recall >= targetRecall && !candidates.indices.includes(-1)) || probes >= lists) break;
    // The next pass costs about (new probes / old probes) times the work so far; past the budget the caller
    // is better served by the exact search (knnGraph switches to it), so stop with what was found.
    const nextProbes = Math.min(lists, probes * 2);
    const workSoFar = pairsComputed / ((count * (count - 1)) / 2);
    if (workSoFar * (1 + (nextProbes - probes) / probes) > maxWorkFraction) break;
    probes = nextProbes;
  }

  // 5. Back to the original numbering.
  const indices = new Int32Array(count * neighbors);
  const squaredDistances = new Float32Array(count * neighbors);
  for (let position = 0; position < count; position++) {
    const target = order[position]! * neighbors;
    const source = position * neighbors;
    for (let slot = 0; slot < neighbors; slot++) {
      indices[target + slot] = order[candidates.indices[source + slot]!]!;
      squaredDistances[target + slot] = Math.max(0, candidates.distances[source + slot]!);
    }
  }
  const workFraction = pairsComputed / ((count * (count - 1)) / 2);
  return { count, neighbors, indices, squaredDistances, recall, sampledQueries: queries.length, workFraction, lists, labels, probes };
}
