/**
 * Agglomerative clustering with Ward's linkage (Ward 1963): start from single images and repeatedly merge the
 * two clusters whose merge increases the within-cluster sum of squares least, n_a n_b / (n_a + n_b) |c_a - c_b|^2.
 *
 * Two ways, as scikit-learn's AgglomerativeClustering(linkage='ward'):
 * - exact (no connectivity): every pair may merge. The nearest-neighbour chain algorithm (Murtagh 1983;
 *   Muellner 2011, "Modern hierarchical, agglomerative clustering algorithms", figure 4) with Lance-Williams
 *   updates on a condensed matrix of squared distances: O(N^2) time and N^2 / 2 float64 of memory, so it is
 *   limited to EXACT_LIMIT images; the merges are sorted by cost and the first N - k applied (Ward is
 *   reducible, so this is the same tree scikit-learn and scipy cut).
 * - with connectivity (connectivity=kneighbors_graph(X, n_neighbors), made symmetric): only clusters joined
 *   by a graph edge may merge. A heap holds the cost of every edge; merged clusters inherit their parts'
 *   neighbours, stale heap entries are skipped (scikit-learn's ward_tree does the same). Memory is the graph
 *   plus one centroid per live cluster, so it scales to hundreds of thousands of images; the kNN graph (exact,
 *   N^2 D work on the matrix kernel) dominates the time. A graph in several pieces is joined first by the
 *   closest pair of points between every two pieces, as scikit-learn does (above EVERY_PAIR_LIMIT pieces:
 *   only a spanning set of such links, see component-links.ts).
 */
import { type LongWorkOptions, throwIfCancelled, yieldToEventLoop } from '../util/progress';
import { disjointSets, graphComponents, linkComponents } from './component-links';
import type { VectorSet } from './kmeans';
import { forEachDistanceBlock, nearestNeighbors } from './knn-graph';
import { fastestKernel, type MatrixKernel } from './matrix-kernel';

/** Settings of a Ward clustering. */
export interface AgglomerativeOptions extends LongWorkOptions {
  /** Number of clusters, 1..count. */
  k: number;
  /**
   * Neighbours per image in the connectivity graph (the image itself not counted, scikit-learn's
   * kneighbors_graph n_neighbors). Fewer neighbours keep merges more local, following elongated clusters.
   * Leave out for the exact, all-pairs algorithm (at most EXACT_LIMIT images).
   */
  connectivityNeighbors?: number;
  /** Matrix-product kernel; default the fastest available. */
  kernel?: MatrixKernel;
}

/** Labels in 0..k-1 and how the tree was built. */
export interface AgglomerativeResult {
  labels: Int32Array;
  /** Increase of the within-cluster sum of squares of each merge done, in the order done (N - k entries). */
  mergeCosts: Float64Array;
  /** Pieces of the connectivity graph before they were linked (1 for the exact algorithm). */
  graphComponents: number;
  seconds: { graph: number; merge: number };
}

/** Most images for the exact algorithm: its condensed matrix holds N (N - 1) / 2 float64 (256 MB at 8,000). */
export const EXACT_LIMIT = 8_000;
/** Below this many multiply-adds the exact distances are computed in float64 loops, not float32 products. */
const DIRECT_DISTANCE_WORK = 2e7;

/**
 * Clusters vectors into k groups by Ward's linkage.
 *
 * await agglomerativeWard({ data, count: 240, dims: 8 }, { k: 6, connectivityNeighbors: 10 })
 * // { labels: Int32Array(240) in 0..5, mergeCosts: Float64Array(234), graphComponents: 1, seconds: { graph: 0.01, merge: 0.002 } }
 */
export async function agglomerativeWard(vectors: VectorSet, options: AgglomerativeOptions): Promise<AgglomerativeResult> {
  const { k, connectivityNeighbors, signal, onProgress } = options;
  const { count, dims, data } = vectors;
  if (!Number.isInteger(k) || k < 1) throw new Error(`The number of clusters must be a whole number of at least 1, not ${k}.`);
  if (k > count) throw new Error(`Cannot make ${k} clusters from ${count} images: choose at most ${count}.`);
  if (data.length !== count * dims) throw new Error('Vector data does not match count x dims.');
  if (count === 1) return { labels: new Int32Array(1), mergeCosts: new Float64Array(0), graphComponents: 1, seconds: { graph: 0, merge: 0 } };
  const kernel = options.kernel ?? (await fastestKernel());
  if (connectivityNeighbors === undefined) {
    if (count > EXACT_LIMIT) {
      throw new Error(`Exact Ward clustering is limited to ${EXACT_LIMIT} images (it keeps all pairwise distances); use a connectivity graph for ${count}.`);
    }
    return exactWard(vectors, k, kernel, options);
  }
  if (!Number.isInteger(connectivityNeighbors) || connectivityNeighbors < 1) {
    throw new Error(`The number of neighbours must be a whole number of at least 1, not ${connectivityNeighbors}.`);
  }
  let started = performance.now();
  const neighbors = Math.min(connectivityNeighbors, count - 1);
  const lists = await nearestNeighbors(vectors, {
    neighbors,
    kernel,
    signal,
    onProgress: onProgress && ((progress) => onProgress({ fraction: 0.7 * progress.fraction, message: progress.message })),
  });
  const from = new Int32Array(count * neighbors);
  const to = new Int32Array(count * neighbors);
  for (let point = 0; point < count; point++) {
    for (let slot = 0; slot < neighbors; slot++) {
      from[point * neighbors + slot] = point;
      to[point * neighbors + slot] = lists.indices[point * neighbors + slot]!;
    }
  }
  const { components, componentCount } = graphComponents(count, from, to);
  onProgress?.({ fraction: 0.7, message: componentCount > 1 ? `Linking ${componentCount} pieces of the neighbour graph` : 'Neighbour graph connected' });
  const links = await linkComponents(vectors, components, componentCount, { mode: 'every-pair', kernel, signal });
  const graphSeconds = (performance.now() - started) / 1000;

  started = performance.now();
  // Symmetric adjacency without duplicates, in CSR form.
  const edgeFrom = new Int32Array(from.length + links.from.length);
  const edgeTo = new Int32Array(edgeFrom.length);
  edgeFrom.set(from);
  edgeFrom.set(links.from, from.length);
  edgeTo.set(to);
  edgeTo.set(links.to, to.length);
  const result = await connectedWard(vectors, k, edgeFrom, edgeTo, signal, onProgress);
  return { labels: result.labels, mergeCosts: result.mergeCosts, graphComponents: componentCount, seconds: { graph: graphSeconds, merge: (performance.now() - started) / 1000 } };
}

/** A binary min-heap of (cost, a, b) in typed arrays that grow as needed. */
class EdgeHeap {
  costs = new Float64Array(1024);
  firsts = new Int32Array(1024);
  seconds = new Int32Array(1024);
  size = 0;

  push(cost: number, a: number, b: number): void {
    if (this.size === this.costs.length) {
      const grow = <T extends Float64Array | Int32Array>(array: T, make: (length: number) => T): T => {
        const bigger = make(array.length * 2);
        bigger.set(array);
        return bigger;
      };
      this.costs = grow(this.costs, (length) => new Float64Array(length));
      this.firsts = grow(this.firsts, (length) => new Int32Array(length));
      this.seconds = grow(this.seconds, (length) => new Int32Array(length));
    }
    let position = this.size++;
    while (position > 0) {
      const parent = (position - 1) >> 1;
      if (this.costs[parent]! <= cost) break;
      this.costs[position] = this.costs[parent]!;
      this.firsts[position] = this.firsts[parent]!;
      this.seconds[position] = this.seconds[parent]!;
      position = parent;
    }
    this.costs[position] = cost;
    this.firsts[position] = a;
    this.seconds[position] = b;
  }

  /** Removes the cheapest entry into `top` (cost, a, b); false when empty. */
  pop(top: { cost: number; a: number; b: number }): boolean {
    if (this.size === 0) return false;
    top.cost = this.costs[0]!;
    top.a = this.firsts[0]!;
    top.b = this.seconds[0]!;
    const last = --this.size;
    const cost = this.costs[last]!;
    const a = this.firsts[last]!;
    const b = this.seconds[last]!;
    let position = 0;
    for (;;) {
      let child = 2 * position + 1;
      if (child >= last) break;
      if (child + 1 < last && this.costs[child + 1]! < this.costs[child]!) child++;
      if (this.costs[child]! >= cost) break;
      this.costs[position] = this.costs[child]!;
      this.firsts[position] = this.firsts[child]!;
      this.seconds[position] = this.seconds[child]!;
      position = child;
    }
    this.costs[position] = cost;
    this.firsts[position] = a;
    this.seconds[position] = b;
    return true;
  }
}

/** Ward merges restricted to graph edges, until k clusters remain (the graph must be connected). */
async function connectedWard(
  vectors: VectorSet,
  k: number,
  edgeFrom: Int32Array,
  edgeTo: Int32Array,
  signal: AbortSignal | undefined,
  onProgress: LongWorkOptions['onProgress'],
): Promise<{ labels: Int32Array; mergeCosts: Float64Array }> {
  const { count, dims, data } = vectors;
  const nodes = 2 * count - 1;
  // Node ids as scikit-learn's tree: points 0..N-1, the merge number m makes node N + m. `ancestor[node]`
  // is some ancestor (-1 for a live cluster); lookups shorten it to the live root (path compression).
  const ancestor = new Int32Array(nodes).fill(-1);
  const active = new Uint8Array(nodes);
  const sizes = new Float64Array(nodes);
  // A live cluster's centroid lives in the slot of one of its points; float64 where it fits in 256 MB.
  const slotOf = new Int32Array(nodes);
  const centroids = count * dims <= 32 * 1024 * 1024 ? new Float64Array(count * dims) : new Float32Array(count * dims);
  for (let point = 0; point < count; point++) {
    active[point] = 1;
    sizes[point] = 1;
    slotOf[point] = point;
    for (let index = 0; index < dims; index++) centroids[point * dims + index] = data[point * dims + index]!;
  }
  const neighbours: number[][] = Array.from({ length: nodes }, () => []);
  const heap = new EdgeHeap();
  const cost = (a: number, b: number): number => {
    const first = slotOf[a]! * dims;
    const second = slotOf[b]! * dims;
    let sum = 0;
    for (let index = 0; index < dims; index++) {
      const delta = centroids[first + index]! - centroids[second + index]!;
      sum += delta * delta;
    }
    return ((sizes[a]! * sizes[b]!) / (sizes[a]! + sizes[b]!)) * sum;
  };
  // Distinct undirected edges, each pushed once.
  const mark = new Int32Array(nodes).fill(-1);
  for (let edge = 0; edge < edgeFrom.length; edge++) {
    const a = edgeFrom[edge]!;
    const b = edgeTo[edge]!;
    if (a !== b) {
      neighbours[a]!.push(b);
      neighbours[b]!.push(a);
    }
  }
  for (let point = 0; point < count; point++) {
    const list = neighbours[point]!;
    let written = 0;
    for (const other of list) {
      if (mark[other] === point) continue;
      mark[other] = point;
      list[written++] = other;
      if (other > point) heap.push(cost(point, other), point, other);
    }
    list.length = written;
  }
  mark.fill(-1);
  const root = (node: number): number => {
    let current = node;
    while (ancestor[current] !== -1) current = ancestor[current]!;
    while (node !== current) {
      const next = ancestor[node]!;
      ancestor[node] = current;
      node = next;
    }
    return current;
  };
  const merges = count - k;
  const mergeCosts = new Float64Array(merges);
  const top = { cost: 0, a: 0, b: 0 };
  for (let merge = 0; merge < merges; merge++) {
    if (merge % 1024 === 0) {
      throwIfCancelled(signal);
      onProgress?.({ fraction: 0.7 + (0.3 * merge) / merges, message: `Ward merges: ${merge} of ${merges}` });
      if (merge % 16384 === 0) await yieldToEventLoop();
    }
    do {
      if (!heap.pop(top)) throw new Error('The connectivity graph fell apart while merging; this is a bug.');
    } while (!(active[top.a] && active[top.b]));
    const { a, b } = top;
    const node = count + merge;
    mergeCosts[merge] = top.cost;
    ancestor[a] = node;
    ancestor[b] = node;
    active[a] = 0;
    active[b] = 0;
    active[node] = 1;
    sizes[node] = sizes[a]! + sizes[b]!;
    const slot = slotOf[a]!;
    const other = slotOf[b]! * dims;
    slotOf[node] = slot;
    const weightA = sizes[a]! / sizes[node]!;
    const weightB = sizes[b]! / sizes[node]!;
    for (let index = 0; index < dims; index++) {
      centroids[slot * dims + index] = weightA * centroids[slot * dims + index]! + weightB * centroids[other + index]!;
    }
    mark[node] = node;
    const joined: number[] = [];
    for (const part of [a, b]) {
      for (const neighbour of neighbours[part]!) {
        const current = root(neighbour);
        if (mark[current] === node) continue;
        mark[current] = node;
        joined.push(current);
      }
      neighbours[part] = [];
    }
    neighbours[node] = joined;
    for (const current of joined) {
      neighbours[current]!.push(node);
      heap.push(cost(node, current), node, current);
    }
  }
  const labels = new Int32Array(count);
  const numbering = new Map<number, number>();
  for (let point = 0; point < count; point++) {
    const cluster = root(point);
    if (!numbering.has(cluster)) numbering.set(cluster, numbering.size);
    labels[point] = numbering.get(cluster)!;
  }
  return { labels, mergeCosts };
}

/** Squared Euclidean distances of all pairs, condensed: pair (i, j), i < j, at i N - i (i + 1) / 2 + j - i - 1. */
async function condensedSquaredDistances(vectors: VectorSet, kernel: MatrixKernel, signal: AbortSignal | undefined): Promise<Float64Array> {
  const { count, dims, data } = vectors;
  const condensed = new Float64Array((count * (count - 1)) / 2);
  if (count * count * dims <= DIRECT_DISTANCE_WORK) {
    let position = 0;
    for (let i = 0; i < count; i++) {
      for (let j = i + 1; j < count; j++) {
        let sum = 0;
        for (let index = 0; index < dims; index++) {
          const delta = data[i * dims + index]! - data[j * dims + index]!;
          sum += delta * delta;
        }
        condensed[position++] = sum;
      }
    }
    return condensed;
  }
  await forEachDistanceBlock(vectors, kernel, signal, (start, rows, products, norms) => {
    for (let line = 0; line < rows; line++) {
      const i = start + line;
      let position = i * count - (i * (i + 1)) / 2;
      for (let j = i + 1; j < count; j++) condensed[position++] = Math.max(0, norms[i]! + norms[j]! - 2 * products[line * count + j]!);
    }
  });
  return condensed;
}

/** The exact all-pairs Ward tree by the nearest-neighbour chain, cut at k clusters. */
async function exactWard(vectors: VectorSet, k: number, kernel: MatrixKernel, options: LongWorkOptions): Promise<AgglomerativeResult> {
  const { signal, onProgress } = options;
  const count = vectors.count;
  let started = performance.now();
  onProgress?.({ fraction: 0, message: `Pairwise distances of ${count} images` });
  // Lance-Williams on squared distances: d(a u b, x) = ((n_a + n_x) d(a, x) + (n_b + n_x) d(b, x) - n_x d(a, b)) / (n_a + n_b + n_x),
  // which keeps d(A, B) = 2 n_A n_B / (n_A + n_B) |c_A - c_B|^2, twice the Ward cost.
  const distance = await condensedSquaredDistances(vectors, kernel, signal);
  const graphSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  const index = (i: number, j: number): number => (i < j ? i * count - (i * (i + 1)) / 2 + j - i - 1 : j * count - (j * (j + 1)) / 2 + i - j - 1);
  const sizes = new Float64Array(count).fill(1);
  // Live clusters in slots 0..liveCount-1 of `live`; `livePosition` finds a slot's place for removal.
  const live = Int32Array.from({ length: count }, (_, slot) => slot);
  const livePosition = Int32Array.from({ length: count }, (_, slot) => slot);
  let liveCount = count;
  const chain = new Int32Array(count);
  let chainLength = 0;
  const mergeA = new Int32Array(count - 1);
  const mergeB = new Int32Array(count - 1);
  const mergeCost = new Float64Array(count - 1);
  for (let merge = 0; merge < count - 1; merge++) {
    if (merge % 256 === 0) {
      throwIfCancelled(signal);
      onProgress?.({ fraction: merge / (count - 1), message: `Ward merges: ${merge} of ${count - 1}` });
      if (merge % 2048 === 0) await yieldToEventLoop();
    }
    if (chainLength === 0) chain[chainLength++] = live[0]!;
    let a: number;
    let b: number;
    let best: number;
    for (;;) {
      a = chain[chainLength - 1]!;
      const previous = chainLength > 1 ? chain[chainLength - 2]! : -1;
      // Prefer the previous chain element on ties, so the chain ends in a reciprocal pair.
      b = previous;
      best = previous >= 0 ? distance[index(a, previous)]! : Infinity;
      for (let position = 0; position < liveCount; position++) {
        const candidate = live[position]!;
        if (candidate === a) continue;
        const value = distance[index(a, candidate)]!;
        if (value < best) {
          best = value;
          b = candidate;
        }
      }
      if (b === previous) break;
      chain[chainLength++] = b;
    }
    chainLength -= 2;
    // Merge a and b into the lower slot; the higher one leaves.
    const keep = Math.min(a, b);
    const gone = Math.max(a, b);
    mergeA[merge] = keep;
    mergeB[merge] = gone;
    mergeCost[merge] = best / 2;
    const sizeKeep = sizes[keep]!;
    const sizeGone = sizes[gone]!;
    const removed = livePosition[gone]!;
    live[removed] = live[--liveCount]!;
    livePosition[live[removed]!] = removed;
    for (let position = 0; position < liveCount; position++) {
      const other = live[position]!;
      if (other === keep) continue;
      const sizeOther = sizes[other]!;
      const keepIndex = index(keep, other);
      distance[keepIndex] =
        ((sizeKeep + sizeOther) * distance[keepIndex]! + (sizeGone + sizeOther) * distance[index(gone, other)]! - sizeOther * best) /
        (sizeKeep + sizeGone + sizeOther);
    }
    sizes[keep] = sizeKeep + sizeGone;
  }
  // The chain finds merges out of order; sorted by cost (stable) they are the Ward tree, and the first N - k cut it at k.
  const order = Array.from({ length: count - 1 }, (_, merge) => merge).sort((x, y) => mergeCost[x]! - mergeCost[y]! || x - y);
  const { parent, find } = disjointSets(count);
  const mergeCosts = new Float64Array(count - k);
  for (let step = 0; step < count - k; step++) {
    const merge = order[step]!;
    const x = find(mergeA[merge]!);
    const y = find(mergeB[merge]!);
    parent[Math.max(x, y)] = Math.min(x, y);
    mergeCosts[step] = mergeCost[merge]!;
  }
  const labels = new Int32Array(count);
  const numbering = new Map<number, number>();
  for (let point = 0; point < count; point++) {
    const cluster = find(point);
    if (!numbering.has(cluster)) numbering.set(cluster, numbering.size);
    labels[point] = numbering.get(cluster)!;
  }
  onProgress?.({ fraction: 1, message: `Ward clustering done: ${k} clusters` });
  return { labels, mergeCosts, graphComponents: 1, seconds: { graph: graphSeconds, merge: (performance.now() - started) / 1000 } };
}
