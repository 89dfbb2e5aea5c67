/**
 * Label spreading (Zhou et al. 2004, "Learning with local and global consistency") on the symmetric kNN
 * graph: labeled images pass their species to their neighbours along the graph until it settles. With a
 * few labeled images per species it usually beats seeded K-means, because it follows the shape of each
 * species' cloud instead of assuming a sphere.
 */
import type { LongWorkOptions } from '../util/progress';
import { throwIfCancelled } from '../util/progress';
import type { VectorSet } from './kmeans';
import { knnAffinity } from './knn-graph';
import type { MatrixKernel } from './matrix-kernel';

/** Label spreading settings. */
export interface LabelSpreadingOptions extends LongWorkOptions {
  /** Species index (0..classes-1) of each labeled row, -1 for unlabeled rows. */
  seeds: Int32Array;
  /** Neighbours per image in the graph. Default 10. */
  neighbors?: number;
  /** How much a label flows on versus staying where it was put, in (0, 1). Closer to 1 spreads further. Default 0.99. */
  alpha?: number;
  /** Propagation steps. Default 60. */
  iterations?: number;
  kernel?: MatrixKernel;
}

/**
 * Predicts a species for every row from a few labeled ones; labeled rows keep their label.
 *
 * await labelSpreading(vectors, { seeds: Int32Array.from([0, -1, -1, 1]) })
 * // { labels: Int32Array [0, 0, 1, 1], confidence: Float32Array [1, 0.93, 0.88, 1] }
 */
export async function labelSpreading(vectors: VectorSet, options: LabelSpreadingOptions): Promise<{ labels: Int32Array; confidence: Float32Array }> {
  const { seeds, neighbors = 10, alpha = 0.99, iterations = 60, signal, onProgress } = options;
  const count = vectors.count;
  const classes = seeds.reduce((maximum, value) => Math.max(maximum, value + 1), 0);
  if (classes === 0) throw new Error('Label spreading needs at least one labeled image.');
  const graph = await knnAffinity(vectors, { neighbors: Math.min(neighbors, count - 1), kernel: options.kernel, signal });
  const degree = new Float64Array(count);
  for (let row = 0; row < count; row++) {
    for (let entry = graph.rowStart[row]!; entry < graph.rowStart[row + 1]!; entry++) degree[row] = degree[row]! + graph.values[entry]!;
  }
  const inverseRoot = degree.map((value) => (value > 0 ? 1 / Math.sqrt(value) : 0));
  const initial = new Float64Array(count * classes);
  for (let row = 0; row < count; row++) if (seeds[row]! >= 0) initial[row * classes + seeds[row]!] = 1;
  let scores = Float64Array.from(initial);
  for (let step = 0; step < iterations; step++) {
    throwIfCancelled(signal);
    const next = new Float64Array(count * classes);
    for (let row = 0; row < count; row++) {
      for (let entry = graph.rowStart[row]!; entry < graph.rowStart[row + 1]!; entry++) {
        const column = graph.columns[entry]!;
        const weight = graph.values[entry]! * inverseRoot[row]! * inverseRoot[column]! * alpha;
        for (let label = 0; label < classes; label++) next[row * classes + label] = next[row * classes + label]! + weight * scores[column * classes + label]!;
      }
      for (let label = 0; label < classes; label++) next[row * classes + label] = next[row * classes + label]! + (1 - alpha) * initial[row * classes + label]!;
    }
    scores = next;
    onProgress?.({ fraction: (step + 1) / iterations, message: `Label spreading step ${step + 1} of ${iterations}` });
  }
  const labels = new Int32Array(count);
  const confidence = new Float32Array(count);
  for (let row = 0; row < count; row++) {
    if (seeds[row]! >= 0) {
      labels[row] = seeds[row]!;
      confidence[row] = 1;
      continue;
    }
    let best = 0;
    let total = 0;
    for (let label = 0; label < classes; label++) {
      total += scores[row * classes + label]!;
      if (scores[row * classes + label]! > scores[row * classes + best]!) best = label;
    }
    labels[row] = best;
    confidence[row] = total > 0 ? scores[row * classes + best]! / total : 0;
  }
  return { labels, confidence };
}
