import { describe, expect, it } from 'vitest';
import { principalComponents } from '../../src-main/core/projection/pca';
import { sampledPrincipalComponents } from '../../src-main/core/projection/sampled-pca';
import { blobs } from '../helpers/fixtures';

/** Pearson correlation of two equally long sequences. */
function correlation(a: number[], b: number[]): number {
  const meanA = a.reduce((sum, value) => sum + value, 0) / a.length;
  const meanB = b.reduce((sum, value) => sum + value, 0) / b.length;
  let cross = 0;
  let squaresA = 0;
  let squaresB = 0;
  a.forEach((value, index) => {
    cross += (value - meanA) * (b[index]! - meanB);
    squaresA += (value - meanA) ** 2;
    squaresB += (b[index]! - meanB) ** 2;
  });
  return cross / Math.sqrt(squaresA * squaresB);
}

const column = (coordinates: Float32Array, component: number, components = 2) =>
  Array.from({ length: coordinates.length / components }, (_, row) => coordinates[row * components + component]!);

describe('sampledPrincipalComponents', () => {
  it('recovers known axes exactly: points at +-s_i along a rotated orthonormal basis', () => {
    // Basis: the Householder reflection I - 2 w w^T of w = (1, 2, 3, 4, 5, 6)/|w|; spreads 6, 3, 1, 0.5, 0.2, 0.1.
    const dims = 6;
    const w = [1, 2, 3, 4, 5, 6];
    const norm = Math.hypot(...w);
    const basis = Array.from({ length: dims }, (_, i) => Array.from({ length: dims }, (_, j) => (i === j ? 1 : 0) - (2 * w[i]! * w[j]!) / norm ** 2));
    const spreads = [6, 3, 1, 0.5, 0.2, 0.1];
    const data: number[] = [];
    for (let axis = 0; axis < dims; axis++) for (const sign of [1, -1]) data.push(...basis[axis]!.map((value) => sign * spreads[axis]! * value));
    const { coordinates, axes } = sampledPrincipalComponents({ data: Float32Array.from(data), count: 12, dims }, { components: 2 });
    for (const component of [0, 1]) {
      const expected = basis[component]!;
      const dot = expected.reduce((sum, value, index) => sum + value * axes[component]![index]!, 0);
      expect(Math.abs(dot)).toBeCloseTo(1, 6);
      // The largest entry of each axis is positive, so the map never flips.
      const largest = axes[component]!.reduce((best, value, index, all) => (Math.abs(value) > Math.abs(all[best]!) ? index : best), 0);
      expect(axes[component]![largest]).toBeGreaterThan(0);
    }
    // The first point sits at +-6 on the first axis and 0 on the second; the third at 0 and +-3.
    expect(Math.abs(coordinates[0]!)).toBeCloseTo(6, 4);
    expect(coordinates[1]).toBeCloseTo(0, 4);
    expect(coordinates[4]).toBeCloseTo(0, 4);
    expect(Math.abs(coordinates[5]!)).toBeCloseTo(3, 4);
  });

  it('agrees with power-iteration PCA on blobs, from every row or from a sample, and repeats for a seed', () => {
    const count = 3000;
    const dims = 32;
    const { data } = blobs(count, dims, 6, 5);
    const reference = principalComponents({ data, count, dims }, 2);
    const full = sampledPrincipalComponents({ data, count, dims });
    const sampled = sampledPrincipalComponents({ data, count, dims }, { sampleSize: 500, seed: 3 });
    for (const component of [0, 1]) {
      expect(Math.abs(correlation(column(full.coordinates, component), column(reference.coordinates, component)))).toBeGreaterThan(0.99999);
      expect(Math.abs(correlation(column(sampled.coordinates, component), column(reference.coordinates, component)))).toBeGreaterThan(0.98); // sampling error only: 500 of 3000 rows
    }
    expect(sampledPrincipalComponents({ data, count, dims }, { sampleSize: 500, seed: 3 }).coordinates).toEqual(sampled.coordinates);
  });

  it('copes with no rows and with rank-deficient data', () => {
    expect(sampledPrincipalComponents({ data: new Float32Array(0), count: 0, dims: 4 }).coordinates).toHaveLength(0);
    const flat = sampledPrincipalComponents({ data: Float32Array.from([1, 1, 1, 1, 1, 1]), count: 3, dims: 2 });
    expect(Array.from(flat.coordinates)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
