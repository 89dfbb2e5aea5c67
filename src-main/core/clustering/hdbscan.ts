/**
 * HDBSCAN (Campello, Moulavi and Sander 2013; McInnes, Healy and Astels 2017): density-based clusters of any
 * number, with the images in no dense region left as noise (label -1).
 *
 * 1. Core distance of each image: the Euclidean distance to its (minSamples - 1)-th nearest other image,
 *    i.e. the minSamples-th counting the image itself (scikit-learn >= 1.3's convention; the hdbscan package
 *    counts one more). Exact, from the kNN lists of knn-graph.ts.
 * 2. A minimum spanning tree of the mutual reachability distance max(core_a, core_b, d(a, b)).
 *    - exact (up to EXACT_LIMIT images, or `mode: 'exact'`): Prim's algorithm on the full distance matrix.
 *    - approximate (above it, or `mode: 'approximate'`): Kruskal over the edges of the kNN graph
 *      (`graphNeighbors` per image), then the pieces joined by their exact closest pairs under the mutual
 *      reachability distance (Boruvka rounds, component-links.ts). APPROXIMATION: an edge of the true tree
 *      between two images that are not among each other's graphNeighbors nearest and lie in the same piece
 *      of the kNN graph is missed, and a heavier path through the graph is used instead; the tree can only
 *      get heavier. Such edges join sparse regions, which is where clusters split, so labels can change
 *      there; test/core/clustering/hdbscan.test.ts compares both on the same data.
 * 3. The single-linkage tree of the spanning tree, condensed: a split where both sides keep at least
 *    minClusterSize images makes two new clusters; smaller sides are images falling out of their cluster at
 *    lambda = 1 / distance.
 * 4. Excess-of-mass selection: a cluster's stability is sum over its images of (lambda_leave - lambda_birth);
 *    a cluster is chosen when it is more stable than its chosen descendants together. The root is never
 *    chosen (allow_single_cluster = False), so there are always 0 or at least 2 clusters.
 */
import { type LongWorkOptions, throwIfCancelled } from '../util/progress';
import { disjointSets, graphComponents, linkComponents } from './component-links';
import type { VectorSet } from './kmeans';
import { forEachDistanceBlock, nearestNeighbors } from './knn-graph';
import { fastestKernel, type MatrixKernel } from './matrix-kernel';

/** Settings of an HDBSCAN run. */
export interface HdbscanOptions extends LongWorkOptions {
  /** Smallest group of images that counts as a cluster; smaller groups become noise. Default 5. */
  minClusterSize?: number;
  /**
   * Images in a neighbourhood (the image itself included) for it to be dense; larger values make more images
   * noise and smooth the density. Default minClusterSize.
   */
  minSamples?: number;
  /** 'exact', 'approximate' (kNN-graph spanning tree) or 'auto' (exact up to EXACT_LIMIT images). Default 'auto'. */
  mode?: 'auto' | 'exact' | 'approximate';
  /** Neighbours per image in the approximate tree's graph (at least minSamples - 1). Default max(15, minSamples). */
  graphNeighbors?: number;
  /** Matrix-product kernel; default the fastest available. */
  kernel?: MatrixKernel;
}

/** Cluster labels (-1 for noise) and the evidence behind them. */
export interface HdbscanResult {
  /** 0..clusterCount-1, or -1 for noise. */
  labels: Int32Array;
  clusterCount: number;
  noiseCount: number;
  /** Excess-of-mass stability of each chosen cluster, in label order. */
  stabilities: Float64Array;
  /** Each image's core distance (Euclidean). */
  coreDistances: Float64Array;
  /** Sum of the spanning tree's mutual reachability distances (the exact tree is the lightest possible). */
  treeWeight: number;
  /** Whether the spanning tree is exact (Prim on all pairs) or from the kNN graph. */
  exact: boolean;
  /** Pieces of the kNN graph joined by exact links (approximate mode; 1 when exact). */
  graphComponents: number;
}

/** Most images for the exact spanning tree: its float32 distance matrix takes N^2 x 4 bytes (64 MB at 4,096). */
export const EXACT_LIMIT = 4_096;

/** A spanning tree as parallel arrays of N - 1 edges. */
interface SpanningTree {
  from: Int32Array;
  to: Int32Array;
  weights: Float64Array;
}

/**
 * Clusters vectors by HDBSCAN; the number of clusters follows from the data.
 *
 * await hdbscan({ data, count: 11, dims: 1 }, { minClusterSize: 3, minSamples: 2 }) // data 0..4, 100..104, 300
 * // { labels: Int32Array [0,0,0,0,0,1,1,1,1,1,-1], clusterCount: 2, noiseCount: 1, stabilities: Float64Array [4.948, 4.948], ... }
 */
export async function hdbscan(vectors: VectorSet, options: HdbscanOptions = {}): Promise<HdbscanResult> {
  const { count, dims, data } = vectors;
  const { signal, onProgress } = options;
  const minClusterSize = options.minClusterSize ?? 5;
  const minSamples = options.minSamples ?? minClusterSize;
  if (!Number.isInteger(minClusterSize) || minClusterSize < 2) throw new Error(`The smallest cluster size must be a whole number of at least 2, not ${minClusterSize}.`);
  if (!Number.isInteger(minSamples) || minSamples < 1) throw new Error(`The number of samples must be a whole number of at least 1, not ${minSamples}.`);
  if (data.length !== count * dims) throw new Error('Vector data does not match count x dims.');
  if (count < 2) {
    return { labels: new Int32Array(count).fill(-1), clusterCount: 0, noiseCount: count, stabilities: new Float64Array(0), coreDistances: new Float64Array(count), treeWeight: 0, exact: true, graphComponents: 1 };
  }
  const mode = options.mode ?? 'auto';
  const exact = mode === 'exact' || (mode === 'auto' && count <= EXACT_LIMIT);
  const kernel = options.kernel ?? (await fastestKernel());
  const coreRank = Math.min(minSamples - 1, count - 1);
  const graphNeighbors = Math.min(count - 1, Math.max(coreRank, exact ? 1 : (options.graphNeighbors ?? Math.max(15, minSamples))));
  const stage = (from: number, to: number) => onProgress && ((progress: { fraction: number; message: string }) => onProgress({ fraction: from + (to - from) * progress.fraction, message: progress.message }));

  const lists = await nearestNeighbors(vectors, { neighbors: graphNeighbors, kernel, signal, onProgress: stage(0, exact ? 0.3 : 0.6) });
  // The products' float32 cancellation blurs small distances between points far from the mean (measured:
  // 1 +- 3e-4 for points 100 from it); the lists are re-measured in float64, which is cheap (N x neighbours x D).
  const listDistances = new Float64Array(lists.squaredDistances.length);
  for (let point = 0; point < count; point++) {
    for (let slot = 0; slot < graphNeighbors; slot++) listDistances[point * graphNeighbors + slot] = squaredDistance(data, dims, point, lists.indices[point * graphNeighbors + slot]!);
  }
  // Re-measured distances can swap near-equal neighbours: keep each list sorted.
  for (let point = 0; point < count; point++) listDistances.subarray(point * graphNeighbors, (point + 1) * graphNeighbors).sort();
  const squaredCore = new Float64Array(count);
  if (coreRank > 0) for (let point = 0; point < count; point++) squaredCore[point] = listDistances[point * graphNeighbors + coreRank - 1]!;
  const coreDistances = squaredCore.map(Math.sqrt);

  throwIfCancelled(signal);
  let tree: SpanningTree;
  let pieces = 1;
  if (exact) {
    onProgress?.({ fraction: 0.3, message: `Exact spanning tree of ${count} images` });
    tree = await primTree(vectors, squaredCore, kernel, signal);
  } else {
    const built = await graphTree(vectors, lists.indices, graphNeighbors, squaredCore, kernel, signal);
    tree = built.tree;
    pieces = built.pieces;
  }
  onProgress?.({ fraction: 0.9, message: 'Condensing the cluster tree' });
  // Tree edges re-measured in float64, as the neighbour lists.
  let treeWeight = 0;
  for (let edge = 0; edge < tree.weights.length; edge++) {
    const a = tree.from[edge]!;
    const b = tree.to[edge]!;
    tree.weights[edge] = Math.sqrt(Math.max(squaredDistance(data, dims, a, b), squaredCore[a]!, squaredCore[b]!));
    treeWeight += tree.weights[edge]!;
  }
  const { labels, stabilities } = condenseAndSelect(count, tree, minClusterSize);
  let noiseCount = 0;
  for (const label of labels) if (label < 0) noiseCount++;
  onProgress?.({ fraction: 1, message: `HDBSCAN done: ${stabilities.length} clusters, ${noiseCount} noise images` });
  return { labels, clusterCount: stabilities.length, noiseCount, stabilities, coreDistances, treeWeight, exact, graphComponents: pieces };
}

/** Squared Euclidean distance of points a and b, in float64. */
function squaredDistance(data: Float32Array, dims: number, a: number, b: number): number {
  let sum = 0;
  for (let index = 0; index < dims; index++) {
    const delta = data[a * dims + index]! - data[b * dims + index]!;
    sum += delta * delta;
  }
  return sum;
}

/** Prim's algorithm on the dense mutual reachability matrix (squared distances from float32 products on centred data). */
async function primTree(vectors: VectorSet, squaredCore: Float64Array, kernel: MatrixKernel, signal: AbortSignal | undefined): Promise<SpanningTree> {
  const { count } = vectors;
  const matrix = new Float32Array(count * count);
  await forEachDistanceBlock(vectors, kernel, signal, (start, rows, products, norms) => {
    for (let line = 0; line < rows; line++) {
      const i = start + line;
      for (let j = 0; j < count; j++) {
        const squared = Math.max(0, norms[i]! + norms[j]! - 2 * products[line * count + j]!);
        matrix[i * count + j] = Math.max(squared, squaredCore[i]!, squaredCore[j]!);
      }
    }
  });
  const inTree = new Uint8Array(count);
  const best = new Float64Array(count).fill(Infinity);
  const bestFrom = new Int32Array(count);
  const tree: SpanningTree = { from: new Int32Array(count - 1), to: new Int32Array(count - 1), weights: new Float64Array(count - 1) };
  let current = 0;
  inTree[0] = 1;
  for (let edge = 0; edge < count - 1; edge++) {
    let next = -1;
    for (let other = 0; other < count; other++) {
      if (inTree[other]) continue;
      const value = matrix[current * count + other]!;
      if (value < best[other]!) {
        best[other] = value;
        bestFrom[other] = current;
      }
      if (next < 0 || best[other]! < best[next]!) next = other;
    }
    tree.from[edge] = bestFrom[next]!;
    tree.to[edge] = next;
    tree.weights[edge] = Math.sqrt(best[next]!);
    inTree[next] = 1;
    current = next;
  }
  return tree;
}

/** Kruskal over the kNN graph's mutual reachability edges, its pieces then joined by exact closest links. */
async function graphTree(
  vectors: VectorSet,
  indices: Int32Array,
  neighbors: number,
  squaredCore: Float64Array,
  kernel: MatrixKernel,
  signal: AbortSignal | undefined,
): Promise<{ tree: SpanningTree; pieces: number }> {
  const count = vectors.count;
  const edges = count * neighbors;
  const weights = new Float64Array(edges);
  for (let point = 0; point < count; point++) {
    for (let slot = 0; slot < neighbors; slot++) {
      const edge = point * neighbors + slot;
      const other = indices[edge]!;
      weights[edge] = Math.max(squaredDistance(vectors.data, vectors.dims, point, other), squaredCore[point]!, squaredCore[other]!);
    }
  }
  const order = Uint32Array.from({ length: edges }, (_, edge) => edge).sort((a, b) => weights[a]! - weights[b]! || a - b);
  const { parent, find } = disjointSets(count);
  const from: number[] = [];
  const to: number[] = [];
  const treeWeights: number[] = [];
  for (const edge of order) {
    const a = Math.floor(edge / neighbors);
    const b = indices[edge]!;
    const rootA = find(a);
    const rootB = find(b);
    if (rootA === rootB) continue;
    parent[rootA] = rootB;
    from.push(a);
    to.push(b);
    treeWeights.push(Math.sqrt(weights[edge]!));
  }
  throwIfCancelled(signal);
  const { components, componentCount } = graphComponents(count, from, to);
  const links = await linkComponents(vectors, components, componentCount, { mode: 'spanning', squaredCoreDistances: squaredCore, kernel, signal });
  for (let link = 0; link < links.from.length; link++) {
    from.push(links.from[link]!);
    to.push(links.to[link]!);
    treeWeights.push(Math.sqrt(links.squaredDistances[link]!));
  }
  return { tree: { from: Int32Array.from(from), to: Int32Array.from(to), weights: Float64Array.from(treeWeights) }, pieces: componentCount };
}

/**
 * Single-linkage tree of the spanning tree, condensed by minClusterSize, stabilities, excess-of-mass
 * selection and labels: the steps of the hdbscan package's _hdbscan_tree.pyx (condense_tree,
 * compute_stability, get_clusters with allow_single_cluster = False, do_labelling).
 */
function condenseAndSelect(count: number, tree: SpanningTree, minClusterSize: number): { labels: Int32Array; stabilities: Float64Array } {
  // Single linkage: merge m joins two subtrees into node count + m at distance weights[m].
  const merges = count - 1;
  const order = Array.from({ length: merges }, (_, edge) => edge).sort((a, b) => tree.weights[a]! - tree.weights[b]! || a - b);
  const left = new Int32Array(merges);
  const right = new Int32Array(merges);
  const height = new Float64Array(merges);
  const size = new Int32Array(2 * count - 1).fill(1);
  const { parent, find } = disjointSets(2 * count - 1);
  order.forEach((edge, merge) => {
    const a = find(tree.from[edge]!);
    const b = find(tree.to[edge]!);
    const node = count + merge;
    left[merge] = a;
    right[merge] = b;
    height[merge] = tree.weights[edge]!;
    size[node] = size[a]! + size[b]!;
    parent[a] = node;
    parent[b] = node;
  });
  const lambdaOf = (distance: number) => (distance > 0 ? 1 / distance : Number.MAX_VALUE);
  // Condensed tree rows: cluster `rowParent` loses `rowChild` (an image, or a new cluster numbered from `count`) at `rowLambda`.
  const rowParent: number[] = [];
  const rowChild: number[] = [];
  const rowLambda: number[] = [];
  const rowSize: number[] = [];
  const root = 2 * count - 2;
  const relabel = new Int32Array(2 * count - 1);
  relabel[root] = count;
  let nextLabel = count + 1;
  /** Every image under a tree node. */
  const leavesOf = (node: number, visit: (point: number) => void) => {
    const stack = [node];
    while (stack.length > 0) {
      const current = stack.pop()!;
      if (current < count) visit(current);
      else stack.push(left[current - count]!, right[current - count]!);
    }
  };
  // Top-down over the nodes that stay clusters (a breadth-first order is not needed: labels only must grow downwards).
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const merge = node - count;
    const lambda = lambdaOf(height[merge]!);
    const children = [left[merge]!, right[merge]!];
    const big = children.filter((child) => size[child]! >= minClusterSize);
    if (big.length === 2) {
      for (const child of children) {
        relabel[child] = nextLabel++;
        rowParent.push(relabel[node]!);
        rowChild.push(relabel[child]!);
        rowLambda.push(lambda);
        rowSize.push(size[child]!);
        if (child >= count) stack.push(child);
      }
      continue;
    }
    for (const child of children) {
      if (big.length === 1 && child === big[0]) {
        relabel[child] = relabel[node]!;
        if (child >= count) stack.push(child);
        continue;
      }
      leavesOf(child, (point) => {
        rowParent.push(relabel[node]!);
        rowChild.push(point);
        rowLambda.push(lambda);
        rowSize.push(1);
      });
    }
  }
  // A minClusterSize of 1 image never arises (at least 2), so a cluster of one image left at the bottom is handled above.
  const clusters = nextLabel - count;
  const birth = new Float64Array(clusters);
  const stability = new Float64Array(clusters);
  for (let row = 0; row < rowChild.length; row++) if (rowChild[row]! >= count) birth[rowChild[row]! - count] = rowLambda[row]!;
  for (let row = 0; row < rowChild.length; row++) {
    const cluster = rowParent[row]! - count;
    stability[cluster] = stability[cluster]! + (rowLambda[row]! - birth[cluster]!) * rowSize[row]!;
  }
  const childClusters: number[][] = Array.from({ length: clusters }, () => []);
  for (let row = 0; row < rowChild.length; row++) if (rowChild[row]! >= count) childClusters[rowParent[row]! - count]!.push(rowChild[row]! - count);
  // Excess of mass, children before parents (children have higher numbers); the root (0) is never chosen.
  const chosen = new Uint8Array(clusters).fill(1);
  chosen[0] = 0;
  const subtreeStability = Float64Array.from(stability);
  for (let cluster = clusters - 1; cluster >= 1; cluster--) {
    let childrenTotal = 0;
    for (const child of childClusters[cluster]!) childrenTotal += subtreeStability[child]!;
    if (childClusters[cluster]!.length > 0 && childrenTotal > stability[cluster]!) {
      chosen[cluster] = 0;
      subtreeStability[cluster] = childrenTotal;
    } else {
      const below = [...childClusters[cluster]!];
      while (below.length > 0) {
        const descendant = below.pop()!;
        chosen[descendant] = 0;
        below.push(...childClusters[descendant]!);
      }
    }
  }
  // Each image takes the chosen cluster above the one it fell out of, or noise.
  const clusterParent = new Int32Array(clusters).fill(-1);
  for (let row = 0; row < rowChild.length; row++) if (rowChild[row]! >= count) clusterParent[rowChild[row]! - count] = rowParent[row]! - count;
  const finalLabel = new Int32Array(clusters).fill(-2);
  const labelOrder: number[] = [];
  const resolve = (cluster: number): number => {
    if (finalLabel[cluster] !== -2) return finalLabel[cluster]!;
    let result = -1;
    for (let current = cluster; current >= 0; current = clusterParent[current]!) {
      if (chosen[current]) {
        result = current;
        break;
      }
    }
    finalLabel[cluster] = result;
    return result;
  };
  const labels = new Int32Array(count).fill(-1);
  const numbering = new Map<number, number>();
  for (let row = 0; row < rowChild.length; row++) {
    const point = rowChild[row]!;
    if (point >= count) continue;
    const cluster = resolve(rowParent[row]! - count);
    if (cluster < 0) continue;
    if (!numbering.has(cluster)) {
      numbering.set(cluster, numbering.size);
      labelOrder.push(cluster);
    }
    labels[point] = numbering.get(cluster)!;
  }
  // Renumber by first image, so labels read in image order.
  const byFirstImage = new Map<number, number>();
  for (let point = 0; point < count; point++) {
    const label = labels[point]!;
    if (label >= 0 && !byFirstImage.has(label)) byFirstImage.set(label, byFirstImage.size);
  }
  const stabilities = new Float64Array(byFirstImage.size);
  for (const [label, position] of byFirstImage) stabilities[position] = stability[labelOrder[label]!]!;
  for (let point = 0; point < count; point++) if (labels[point]! >= 0) labels[point] = byFirstImage.get(labels[point]!)!;
  return { labels, stabilities };
}
