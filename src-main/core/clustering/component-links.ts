/**
 * Links between the connected components of a neighbour graph, so graph-based clusterings (Ward with
 * connectivity, HDBSCAN's spanning tree) always see one connected graph. Distances are exact: every pair of
 * points is measured once, by matrix products in row blocks on the fast kernel (the same N^2 D work as the
 * exact kNN graph), keeping only the best pair per pair of components or per component.
 */
import { type LongWorkOptions, throwIfCancelled, yieldToEventLoop } from '../util/progress';
import type { VectorSet } from './kmeans';
import { fastestKernel, type MatrixKernel } from './matrix-kernel';

/** Edges between points, parallel arrays: `from[i]`-`to[i]` at squared distance `squaredDistances[i]`. */
export interface PointLinks {
  from: Int32Array;
  to: Int32Array;
  squaredDistances: Float64Array;
}

/** Settings of the component linking. */
export interface ComponentLinkOptions extends LongWorkOptions {
  /**
   * 'every-pair': the closest pair between every two components (scikit-learn's _fix_connected_components,
   * C (C - 1) / 2 links; used up to `everyPairLimit` components). 'spanning': only enough links to join
   * the components, each round linking every component to its nearest other one (Boruvka 1926), so the
   * links form a minimum spanning tree of the components under the closest-pair distance.
   */
  mode: 'every-pair' | 'spanning';
  /**
   * Per-point squared core distances: when given, a pair's distance is max(core_i, core_j, d_ij^2), the
   * mutual reachability distance of HDBSCAN (squared). Default: plain squared Euclidean distance.
   */
  squaredCoreDistances?: Float64Array;
  /** Matrix-product kernel; default the fastest available. */
  kernel?: MatrixKernel;
}

/** Components with every pair linked at most this many; above it 'every-pair' falls back to 'spanning' (table of C^2 entries). */
export const EVERY_PAIR_LIMIT = 1024;
const PRODUCT_FLOATS = 16 * 1024 * 1024;
const MAX_ROWS_PER_BLOCK = 512;

/**
 * Disjoint sets over 0..count-1: `find` returns a set's representative (halving paths as it goes); join two
 * representatives by writing `parent[one] = other`.
 *
 * const { parent, find } = disjointSets(3); parent[find(2)] = find(0); find(2) // 0
 */
export function disjointSets(count: number): { parent: Int32Array; find: (point: number) => number } {
  const parent = Int32Array.from({ length: count }, (_, point) => point);
  const find = (point: number): number => {
    while (parent[point] !== point) {
      parent[point] = parent[parent[point]!]!;
      point = parent[point]!;
    }
    return point;
  };
  return { parent, find };
}

/** Connected components of an undirected graph given as an edge list: component of each point, 0..count-1 in order of first point. */
export function graphComponents(count: number, from: ArrayLike<number>, to: ArrayLike<number>): { components: Int32Array; componentCount: number } {
  const { parent, find } = disjointSets(count);
  for (let edge = 0; edge < from.length; edge++) {
    const a = find(from[edge]!);
    const b = find(to[edge]!);
    if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
  }
  const components = new Int32Array(count).fill(-1);
  const numbering = new Int32Array(count).fill(-1);
  let componentCount = 0;
  for (let point = 0; point < count; point++) {
    const root = find(point);
    if (numbering[root] === -1) numbering[root] = componentCount++;
    components[point] = numbering[root]!;
  }
  return { components, componentCount };
}

/**
 * Calls `visit(i, j, squaredDistance)` for every pair i < j of points in different groups, by blocks of
 * matrix products on mean-centred data.
 */
async function forEachCrossPair(
  vectors: VectorSet,
  groups: Int32Array,
  kernel: MatrixKernel,
  signal: AbortSignal | undefined,
  visit: (i: number, j: number, squaredDistance: number) => void,
): Promise<void> {
  const { count, dims } = vectors;
  const mean = new Float64Array(dims);
  for (let row = 0; row < count; row++) for (let index = 0; index < dims; index++) mean[index] = mean[index]! + vectors.data[row * dims + index]!;
  for (let index = 0; index < dims; index++) mean[index] = mean[index]! / count;
  const data = new Float32Array(count * dims);
  const norms = new Float64Array(count);
  for (let row = 0; row < count; row++) {
    let sum = 0;
    for (let index = 0; index < dims; index++) {
      const value = Math.fround(vectors.data[row * dims + index]! - mean[index]!);
      data[row * dims + index] = value;
      sum += value * value;
    }
    norms[row] = sum;
  }
  const rowsPerBlock = Math.max(1, Math.min(MAX_ROWS_PER_BLOCK, Math.floor(PRODUCT_FLOATS / count)));
  for (let start = 0; start < count; start += rowsPerBlock) {
    throwIfCancelled(signal);
    const rows = Math.min(rowsPerBlock, count - start);
    const width = count - start;
    const products = await kernel.multiplyTransposed(data.subarray(start * dims, (start + rows) * dims), rows, data.subarray(start * dims), width, dims);
    for (let line = 0; line < rows; line++) {
      const point = start + line;
      const group = groups[point]!;
      const base = line * width - start;
      for (let other = point + 1; other < count; other++) {
        if (groups[other] === group) continue;
        visit(point, other, Math.max(0, norms[point]! + norms[other]! - 2 * products[base + other]!));
      }
    }
    await yieldToEventLoop();
  }
}

/**
 * Links that make the graph with the given components connected (none when there is one component).
 *
 * await linkComponents(vectors, components, 3, { mode: 'every-pair' })
 * // { from: Int32Array(3), to: Int32Array(3), squaredDistances: Float64Array(3) }: one closest pair per two components
 */
export async function linkComponents(vectors: VectorSet, components: Int32Array, componentCount: number, options: ComponentLinkOptions): Promise<PointLinks> {
  if (componentCount <= 1) return { from: new Int32Array(0), to: new Int32Array(0), squaredDistances: new Float64Array(0) };
  const kernel = options.kernel ?? (await fastestKernel());
  const core = options.squaredCoreDistances;
  const measure = core ? (i: number, j: number, squared: number) => Math.max(squared, core[i]!, core[j]!) : (_i: number, _j: number, squared: number) => squared;
  if (options.mode === 'every-pair' && componentCount <= EVERY_PAIR_LIMIT) {
    const pairs = componentCount * componentCount;
    const best = new Float64Array(pairs).fill(Infinity);
    const bestFrom = new Int32Array(pairs);
    const bestTo = new Int32Array(pairs);
    await forEachCrossPair(vectors, components, kernel, options.signal, (i, j, squared) => {
      const distance = measure(i, j, squared);
      const a = components[i]!;
      const b = components[j]!;
      const cell = a < b ? a * componentCount + b : b * componentCount + a;
      if (distance < best[cell]!) {
        best[cell] = distance;
        bestFrom[cell] = i;
        bestTo[cell] = j;
      }
    });
    const links = (componentCount * (componentCount - 1)) / 2;
    const result: PointLinks = { from: new Int32Array(links), to: new Int32Array(links), squaredDistances: new Float64Array(links) };
    let written = 0;
    for (let a = 0; a < componentCount; a++) {
      for (let b = a + 1; b < componentCount; b++) {
        const cell = a * componentCount + b;
        result.from[written] = bestFrom[cell]!;
        result.to[written] = bestTo[cell]!;
        result.squaredDistances[written] = best[cell]!;
        written++;
      }
    }
    return result;
  }
  // Boruvka rounds over the components: each round at least halves their number.
  const from: number[] = [];
  const to: number[] = [];
  const distances: number[] = [];
  let groups = Int32Array.from(components);
  let groupCount = componentCount;
  while (groupCount > 1) {
    const best = new Float64Array(groupCount).fill(Infinity);
    const bestFrom = new Int32Array(groupCount);
    const bestTo = new Int32Array(groupCount);
    const current = groups;
    await forEachCrossPair(vectors, current, kernel, options.signal, (i, j, squared) => {
      const distance = measure(i, j, squared);
      const a = current[i]!;
      const b = current[j]!;
      if (distance < best[a]!) {
        best[a] = distance;
        bestFrom[a] = i;
        bestTo[a] = j;
      }
      if (distance < best[b]!) {
        best[b] = distance;
        bestFrom[b] = i;
        bestTo[b] = j;
      }
    });
    // Join groups along each group's best link, skipping links that would close a cycle (ties).
    const { parent, find } = disjointSets(groupCount);
    for (let group = 0; group < groupCount; group++) {
      const a = find(current[bestFrom[group]!]!);
      const b = find(current[bestTo[group]!]!);
      if (a === b) continue;
      parent[Math.max(a, b)] = Math.min(a, b);
      from.push(bestFrom[group]!);
      to.push(bestTo[group]!);
      distances.push(best[group]!);
    }
    const numbering = new Int32Array(groupCount).fill(-1);
    let next = 0;
    for (let group = 0; group < groupCount; group++) {
      const root = find(group);
      if (numbering[root] === -1) numbering[root] = next++;
    }
    groups = Int32Array.from(current, (group) => numbering[find(group)]!);
    groupCount = next;
  }
  return { from: Int32Array.from(from), to: Int32Array.from(to), squaredDistances: Float64Array.from(distances) };
}
