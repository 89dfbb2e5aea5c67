/**
 * External clustering metrics: how well predicted clusters match known species labels.
 * Definitions follow scikit-learn 1.2 (`sklearn.metrics.cluster`), against which the tests check them.
 */
import { hungarianAccuracy } from './hungarian';

/** The scores the paper reports (Bjerge et al. 2025, section 3.4), each in [0, 1] except ARI (>= -0.5). */
export interface ClusteringScores {
  /** Cluster accuracy, Eq. (4): each cluster's majority-label count, summed, over N. */
  ca: number;
  /** Normalised mutual information (arithmetic mean of the entropies). */
  nmi: number;
  /** Adjusted mutual information (Vinh et al. 2009; arithmetic mean). */
  ami: number;
  /** Adjusted Rand index (Hubert and Arabie 1985). */
  ari: number;
  /** Hungarian accuracy: the best one-to-one matching of clusters to labels. */
  hungarian: number;
  /** Number of images scored. */
  count: number;
}

interface Contingency {
  /** Non-zero cells n_ij. */
  cells: number[];
  /** Cells as [row, column] class indices, parallel to `cells`. */
  cellRows: number[];
  cellColumns: number[];
  rowSums: number[];
  columnSums: number[];
  total: number;
}

function contingency(truth: ArrayLike<number | string>, predicted: ArrayLike<number | string>): Contingency {
  if (truth.length !== predicted.length) throw new Error('Label arrays differ in length.');
  const rowIndex = new Map<number | string, number>();
  const columnIndex = new Map<number | string, number>();
  const counts = new Map<string, number>();
  const rowSums: number[] = [];
  const columnSums: number[] = [];
  for (let index = 0; index < truth.length; index++) {
    const truthLabel = truth[index]!;
    const predictedLabel = predicted[index]!;
    if (!rowIndex.has(truthLabel)) {
      rowIndex.set(truthLabel, rowIndex.size);
      rowSums.push(0);
    }
    if (!columnIndex.has(predictedLabel)) {
      columnIndex.set(predictedLabel, columnIndex.size);
      columnSums.push(0);
    }
    const row = rowIndex.get(truthLabel)!;
    const column = columnIndex.get(predictedLabel)!;
    rowSums[row]!++;
    columnSums[column]!++;
    const key = `${row},${column}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const cells: number[] = [];
  const cellRows: number[] = [];
  const cellColumns: number[] = [];
  for (const [key, count] of counts) {
    const [row, column] = key.split(',').map(Number);
    cells.push(count);
    cellRows.push(row!);
    cellColumns.push(column!);
  }
  return { cells, cellRows, cellColumns, rowSums, columnSums, total: truth.length };
}

function entropy(sums: number[], total: number): number {
  let result = 0;
  for (const sum of sums) if (sum > 0) result -= (sum / total) * Math.log(sum / total);
  return result;
}

function mutualInformation(table: Contingency): number {
  const { cells, cellRows, cellColumns, rowSums, columnSums, total } = table;
  let result = 0;
  for (let index = 0; index < cells.length; index++) {
    const cell = cells[index]!;
    result += (cell / total) * (Math.log(cell * total) - Math.log(rowSums[cellRows[index]!]! * columnSums[cellColumns[index]!]!));
  }
  return Math.max(result, 0);
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Gamma(x) for x > 0 (Lanczos approximation, g = 7; relative error about 1e-15). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const shifted = x - 1;
  let sum = LANCZOS[0]!;
  for (let index = 1; index < 9; index++) sum += LANCZOS[index]! / (shifted + index);
  const t = shifted + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Expected mutual information under the permutation model (Vinh et al. 2009), as scikit-learn computes it. */
function expectedMutualInformation(table: Contingency): number {
  const { rowSums, columnSums, total } = table;
  const logFactorial = new Float64Array(total + 2);
  for (let value = 2; value <= total + 1; value++) logFactorial[value] = logFactorial[value - 1]! + Math.log(value - 1);
  // logFactorial[m + 1] = ln(m!)
  const lnFact = (m: number) => logFactorial[m + 1]!;
  let result = 0;
  for (const a of rowSums) {
    for (const b of columnSums) {
      const start = Math.max(1, a + b - total);
      const end = Math.min(a, b);
      for (let nij = start; nij <= end; nij++) {
        const term1 = nij / total;
        const term2 = Math.log(total) + Math.log(nij) - Math.log(a) - Math.log(b);
        const logProbability =
          lnFact(a) + lnFact(b) + lnFact(total - a) + lnFact(total - b) - lnFact(total) - lnFact(nij) -
          lnFact(a - nij) - lnFact(b - nij) - lnFact(total - a - b + nij);
        result += term1 * term2 * Math.exp(logProbability);
      }
    }
  }
  return result;
}

/** Cluster accuracy, Eq. (4) of Bjerge et al. 2025: sum over clusters of the majority-label count, over N. */
export function clusterAccuracy(truth: ArrayLike<number | string>, predicted: ArrayLike<number | string>): number {
  const table = contingency(truth, predicted);
  const majority = new Map<number, number>();
  for (let index = 0; index < table.cells.length; index++) {
    const column = table.cellColumns[index]!;
    majority.set(column, Math.max(majority.get(column) ?? 0, table.cells[index]!));
  }
  let sum = 0;
  for (const count of majority.values()) sum += count;
  return table.total === 0 ? 0 : sum / table.total;
}

/** Adjusted Rand index, as `sklearn.metrics.adjusted_rand_score`. */
export function adjustedRandIndex(truth: ArrayLike<number | string>, predicted: ArrayLike<number | string>): number {
  const table = contingency(truth, predicted);
  const pairs = (count: number) => (count * (count - 1)) / 2;
  let sumCells = 0;
  for (const cell of table.cells) sumCells += pairs(cell);
  let sumRows = 0;
  for (const sum of table.rowSums) sumRows += pairs(sum);
  let sumColumns = 0;
  for (const sum of table.columnSums) sumColumns += pairs(sum);
  const totalPairs = pairs(table.total);
  if (totalPairs === 0) return 1;
  const expected = (sumRows * sumColumns) / totalPairs;
  const maximum = (sumRows + sumColumns) / 2;
  if (maximum === expected) return 1;
  return (sumCells - expected) / (maximum - expected);
}

/** Normalised mutual information with the arithmetic mean, as `sklearn.metrics.normalized_mutual_info_score`. */
export function normalizedMutualInformation(truth: ArrayLike<number | string>, predicted: ArrayLike<number | string>): number {
  const table = contingency(truth, predicted);
  if (table.rowSums.length === table.columnSums.length && (table.rowSums.length === 1 || table.rowSums.length === 0)) return 1;
  const mi = mutualInformation(table);
  if (mi === 0) return 0;
  const normaliser = (entropy(table.rowSums, table.total) + entropy(table.columnSums, table.total)) / 2;
  return mi / normaliser;
}

/** Adjusted mutual information with the arithmetic mean, as `sklearn.metrics.adjusted_mutual_info_score`. */
export function adjustedMutualInformation(truth: ArrayLike<number | string>, predicted: ArrayLike<number | string>): number {
  const table = contingency(truth, predicted);
  const rows = table.rowSums.length;
  const columns = table.columnSums.length;
  if ((rows === columns && (rows === 1 || rows === 0)) || (rows === columns && rows === table.total)) return 1;
  const mi = mutualInformation(table);
  const emi = expectedMutualInformation(table);
  const normaliser = (entropy(table.rowSums, table.total) + entropy(table.columnSums, table.total)) / 2;
  let denominator = normaliser - emi;
  // Guard against a zero denominator the way scikit-learn does.
  if (denominator < 0) denominator = Math.min(denominator, -Number.EPSILON);
  else denominator = Math.max(denominator, Number.EPSILON);
  return (mi - emi) / denominator;
}

/** All the paper's scores at once, plus Hungarian accuracy. */
export function scoreClustering(truth: ArrayLike<number | string>, predicted: ArrayLike<number | string>): ClusteringScores {
  return {
    ca: clusterAccuracy(truth, predicted),
    nmi: normalizedMutualInformation(truth, predicted),
    ami: adjustedMutualInformation(truth, predicted),
    ari: adjustedRandIndex(truth, predicted),
    hungarian: hungarianAccuracy(truth, predicted),
    count: truth.length,
  };
}
