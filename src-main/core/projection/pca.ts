/**
 * Principal component analysis to 2-D (or a few dimensions) by power iteration with deflation: enough for
 * maps of embeddings, linear in the number of points, and deterministic for a seed.
 */
import { seededRandom } from '../util/random';
import type { VectorSet } from '../clustering/kmeans';

/**
 * Projects vectors onto their first `components` principal axes (centred data).
 *
 * principalComponents({ data, count: 1000, dims: 256 }, 2) // { coordinates: Float32Array(2000), explained: [0.21, 0.09] }
 */
export function principalComponents(vectors: VectorSet, components = 2, seed = 0): { coordinates: Float32Array; explained: number[] } {
  const { data, count, dims } = vectors;
  const mean = new Float64Array(dims);
  for (let row = 0; row < count; row++) for (let index = 0; index < dims; index++) mean[index] = mean[index]! + data[row * dims + index]! / count;
  let totalVariance = 0;
  for (let row = 0; row < count; row++) for (let index = 0; index < dims; index++) totalVariance += (data[row * dims + index]! - mean[index]!) ** 2;
  const random = seededRandom(seed);
  const axes: Float64Array[] = [];
  const explained: number[] = [];
  const projections = new Float64Array(count);
  for (let component = 0; component < components; component++) {
    let axis = Float64Array.from({ length: dims }, () => random() - 0.5);
    let eigenvalue = 0;
    for (let iteration = 0; iteration < 100; iteration++) {
      // Remove earlier axes, then multiply by the covariance: X^T (X axis).
      for (const previous of axes) {
        let dot = 0;
        for (let index = 0; index < dims; index++) dot += axis[index]! * previous[index]!;
        for (let index = 0; index < dims; index++) axis[index] = axis[index]! - dot * previous[index]!;
      }
      for (let row = 0; row < count; row++) {
        let sum = 0;
        for (let index = 0; index < dims; index++) sum += (data[row * dims + index]! - mean[index]!) * axis[index]!;
        projections[row] = sum;
      }
      const next = new Float64Array(dims);
      for (let row = 0; row < count; row++) {
        const weight = projections[row]!;
        for (let index = 0; index < dims; index++) next[index] = next[index]! + (data[row * dims + index]! - mean[index]!) * weight;
      }
      for (const previous of axes) {
        let dot = 0;
        for (let index = 0; index < dims; index++) dot += next[index]! * previous[index]!;
        for (let index = 0; index < dims; index++) next[index] = next[index]! - dot * previous[index]!;
      }
      const norm = Math.sqrt(next.reduce((sum, value) => sum + value * value, 0)) || 1;
      const change = next.reduce((sum, value, index) => sum + Math.abs(value / norm - axis[index]!), 0);
      eigenvalue = norm;
      axis = next.map((value) => value / norm);
      if (change < 1e-9 * dims) break;
    }
    // Sign convention: the largest-magnitude entry positive, so maps do not flip between runs.
    let largest = 0;
    for (let index = 1; index < dims; index++) if (Math.abs(axis[index]!) > Math.abs(axis[largest]!)) largest = index;
    if (axis[largest]! < 0) axis = axis.map((value) => -value);
    axes.push(axis);
    explained.push(totalVariance > 0 ? eigenvalue / totalVariance : 0);
  }
  const coordinates = new Float32Array(count * components);
  for (let row = 0; row < count; row++) {
    for (let component = 0; component < components; component++) {
      let sum = 0;
      for (let index = 0; index < dims; index++) sum += (data[row * dims + index]! - mean[index]!) * axes[component]![index]!;
      coordinates[row * components + component] = sum;
    }
  }
  return { coordinates, explained };
}
