/**
 * Every point's best neighbour candidates so far, each list sorted by distance: the top-k bookkeeping shared
 * by the exact (knn-graph.ts) and the partitioned (partitioned-knn.ts) neighbour searches.
 */

/** Per-point sorted candidate lists of fixed length; empty slots hold index -1 at distance Infinity. */
export class CandidateLists {
  readonly distances: Float64Array;
  readonly indices: Int32Array;
  /** worst[i] is point i's current k-th smallest distance: a candidate must beat it to enter the list. */
  readonly worst: Float64Array;

  constructor(
    count: number,
    readonly neighbors: number,
  ) {
    this.distances = new Float64Array(count * neighbors).fill(Infinity);
    this.indices = new Int32Array(count * neighbors).fill(-1);
    this.worst = new Float64Array(count).fill(Infinity);
  }

  /** Whether `candidate` is already in point's list (a short scan: it runs only for candidates that beat the worst). */
  has(point: number, candidate: number): boolean {
    const base = point * this.neighbors;
    for (let slot = 0; slot < this.neighbors; slot++) if (this.indices[base + slot] === candidate) return true;
    return false;
  }

  /**
   * Inserts a candidate that beat `worst[point]`. After the first blocks almost every candidate fails that
   * test, so this runs rarely, and insertion into a sorted list beats a heap for k around 10.
   */
  insert(point: number, candidate: number, distance: number): void {
    const { distances, indices, neighbors } = this;
    const base = point * neighbors;
    let position = neighbors - 1;
    while (position > 0 && distances[base + position - 1]! > distance) {
      distances[base + position] = distances[base + position - 1]!;
      indices[base + position] = indices[base + position - 1]!;
      position--;
    }
    distances[base + position] = distance;
    indices[base + position] = candidate;
    this.worst[point] = distances[base + neighbors - 1]!;
  }
}

/**
 * Offers every pair of a product block whose rows are arbitrary points `rowPoints` and whose columns are
 * points [columnStart, columnStart + columns) to both points' lists, skipping a point paired with itself
 * and candidates already listed (a pair can reach a list from both of its points' searches).
 */
export function offerGatheredBlock(
  products: Float32Array,
  rowPoints: Int32Array,
  columnStart: number,
  columns: number,
  norms: Float64Array,
  lists: CandidateLists,
): void {
  const worst = lists.worst;
  const end = columnStart + columns;
  for (let row = 0; row < rowPoints.length; row++) {
    const point = rowPoints[row]!;
    const pointNorm = norms[point]!;
    let pointWorst = worst[point]!;
    const base = row * columns - columnStart;
    for (let other = columnStart; other < end; other++) {
      const distance = pointNorm + norms[other]! - 2 * products[base + other]!;
      if (distance < pointWorst && other !== point) {
        if (!lists.has(point, other)) lists.insert(point, other, distance);
        pointWorst = worst[point]!;
      }
      if (distance < worst[other]! && other !== point && !lists.has(other, point)) lists.insert(other, point, distance);
    }
  }
}

/**
 * Offers the pairs of one product block to both points' lists: rows are points [rowStart, rowStart + rows),
 * columns points [columnStart, columnStart + columns), `products` their row-major dot products. With
 * `upperOnly` (a block of a set against itself, rowStart === columnStart) only pairs with column > row are
 * offered. The hot loop reads three arrays per pair, kept in locals so the compiler can keep their bases
 * in registers.
 */
export function offerBlock(
  products: Float32Array,
  rowStart: number,
  rows: number,
  columnStart: number,
  columns: number,
  norms: Float64Array,
  lists: CandidateLists,
  upperOnly: boolean,
): void {
  const worst = lists.worst;
  for (let row = 0; row < rows; row++) {
    const point = rowStart + row;
    const pointNorm = norms[point]!;
    let pointWorst = worst[point]!;
    const base = row * columns - columnStart;
    const first = upperOnly ? point + 1 : columnStart;
    const end = columnStart + columns;
    for (let other = first; other < end; other++) {
      const distance = pointNorm + norms[other]! - 2 * products[base + other]!;
      if (distance < pointWorst) {
        lists.insert(point, other, distance);
        pointWorst = worst[point]!;
      }
      if (distance < worst[other]!) lists.insert(other, point, distance);
    }
  }
}
