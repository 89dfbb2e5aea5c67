/**
 * Mean silhouette coefficient (Rousseeuw 1987) with Euclidean distances, as scikit-learn's
 * silhouette_score: for each point, (b - a) / max(a, b) where a is its mean distance to its own cluster and
 * b the smallest mean distance to another cluster; points alone in their cluster score 0. Uses the matrix
 * kernel in row blocks, so memory stays O(block x N).
 */
import type { VectorSet } from '../clustering/kmeans';
import { fastestKernel, type MatrixKernel } from '../clustering/matrix-kernel';

/** The mean silhouette in [-1, 1]; needs 2 <= clusters <= count - 1. */
export async function silhouetteScore(vectors: VectorSet, labels: ArrayLike<number>, kernel?: MatrixKernel): Promise<number> {
  const { data, count, dims } = vectors;
  const clusterIndex = new Map<number, number>();
  for (let row = 0; row < count; row++) if (!clusterIndex.has(labels[row]!)) clusterIndex.set(labels[row]!, clusterIndex.size);
  const clusters = clusterIndex.size;
  if (clusters < 2 || clusters > count - 1) throw new Error(`The silhouette needs between 2 and ${count - 1} clusters, not ${clusters}.`);
  const label = Int32Array.from({ length: count }, (_, row) => clusterIndex.get(labels[row]!)!);
  const sizes = new Int32Array(clusters);
  for (const value of label) sizes[value] = sizes[value]! + 1;
  const norms = new Float64Array(count);
  for (let row = 0; row < count; row++) {
    let sum = 0;
    for (let index = 0; index < dims; index++) sum += data[row * dims + index]! ** 2;
    norms[row] = sum;
  }
  const matrices = kernel ?? (await fastestKernel());
  const block = Math.max(1, Math.floor(4_000_000 / count));
  let total = 0;
  for (let start = 0; start < count; start += block) {
    const rows = Math.min(block, count - start);
    const products = await matrices.multiplyTransposed(data.subarray(start * dims, (start + rows) * dims), rows, data, count, dims);
    for (let offset = 0; offset < rows; offset++) {
      const row = start + offset;
      const sums = new Float64Array(clusters);
      for (let other = 0; other < count; other++) {
        if (other === row) continue;
        const squared = norms[row]! + norms[other]! - 2 * products[offset * count + other]!;
        sums[label[other]!] = sums[label[other]!]! + Math.sqrt(Math.max(0, squared));
      }
      const own = label[row]!;
      if (sizes[own] === 1) continue;
      const a = sums[own]! / (sizes[own]! - 1);
      let b = Infinity;
      for (let cluster = 0; cluster < clusters; cluster++) if (cluster !== own) b = Math.min(b, sums[cluster]! / sizes[cluster]!);
      total += (b - a) / Math.max(a, b);
    }
  }
  return total / count;
}
