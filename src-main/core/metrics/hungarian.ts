/**
 * Hungarian accuracy: the share of images whose cluster maps to their label under the best one-to-one
 * matching of clusters to labels (Kuhn-Munkres on the contingency table, as scipy's linear_sum_assignment).
 * Stricter than CA (Eq. 4): a species split over two clusters counts only once.
 */

/** Minimum-cost assignment of rows to columns of a square cost matrix (O(n^3) Hungarian algorithm). */
export function minimumCostAssignment(cost: number[][]): number[] {
  const size = cost.length;
  const u = new Float64Array(size + 1);
  const v = new Float64Array(size + 1);
  const match = new Int32Array(size + 1);
  const way = new Int32Array(size + 1);
  for (let row = 1; row <= size; row++) {
    match[0] = row;
    let column = 0;
    const minimum = new Float64Array(size + 1).fill(Infinity);
    const used = new Uint8Array(size + 1);
    do {
      used[column] = 1;
      const current = match[column]!;
      let delta = Infinity;
      let next = 0;
      for (let candidate = 1; candidate <= size; candidate++) {
        if (used[candidate]) continue;
        const reduced = cost[current - 1]![candidate - 1]! - u[current]! - v[candidate]!;
        if (reduced < minimum[candidate]!) {
          minimum[candidate] = reduced;
          way[candidate] = column;
        }
        if (minimum[candidate]! < delta) {
          delta = minimum[candidate]!;
          next = candidate;
        }
      }
      for (let candidate = 0; candidate <= size; candidate++) {
        if (used[candidate]) {
          u[match[candidate]!] = u[match[candidate]!]! + delta;
          v[candidate] = v[candidate]! - delta;
        } else minimum[candidate] = minimum[candidate]! - delta;
      }
      column = next;
    } while (match[column] !== 0);
    do {
      const previous = way[column]!;
      match[column] = match[previous]!;
      column = previous;
    } while (column !== 0);
  }
  const assignment = new Array<number>(size).fill(-1);
  for (let column = 1; column <= size; column++) if (match[column]! > 0) assignment[match[column]! - 1] = column - 1;
  return assignment;
}

/** Hungarian accuracy of predicted clusters against true labels, in [0, 1]. */
export function hungarianAccuracy(truth: ArrayLike<number | string>, predicted: ArrayLike<number | string>): number {
  if (truth.length !== predicted.length) throw new Error('Label arrays differ in length.');
  if (truth.length === 0) return 0;
  const truthIndex = new Map<number | string, number>();
  const predictedIndex = new Map<number | string, number>();
  for (let index = 0; index < truth.length; index++) {
    if (!truthIndex.has(truth[index]!)) truthIndex.set(truth[index]!, truthIndex.size);
    if (!predictedIndex.has(predicted[index]!)) predictedIndex.set(predicted[index]!, predictedIndex.size);
  }
  const size = Math.max(truthIndex.size, predictedIndex.size);
  const counts = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  for (let index = 0; index < truth.length; index++) counts[predictedIndex.get(predicted[index]!)!]![truthIndex.get(truth[index]!)!]! += 1;
  const largest = Math.max(...counts.flat());
  const assignment = minimumCostAssignment(counts.map((row) => row.map((count) => largest - count)));
  let matched = 0;
  assignment.forEach((column, row) => (matched += counts[row]![column]!));
  return matched / truth.length;
}
