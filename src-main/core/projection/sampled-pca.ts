/**
 * Principal component analysis for maps of many points: the axes are found by randomized subspace
 * iteration (Halko, Martinsson and Tropp 2011, Algorithm 4.4, with a Rayleigh-Ritz step) on a seeded
 * random sample of the rows, and every row is then projected onto them. Linear in the number of points;
 * 50,000 x 1280 takes about a second on one core, where power iteration over every row takes minutes.
 */
import type { VectorSet } from '../clustering/kmeans';
import { multiply, symmetricEigen } from '../clustering/linear-algebra';
import { sampleRows, seededRandom, type RandomSource } from '../util/random';

/** Settings of `sampledPrincipalComponents`; all optional. */
export interface SampledPcaOptions {
  /** Number of axes, 1..8. Default 2. */
  components?: number;
  /** Rows used to find the axes; more is closer to exact PCA and slower. Default 5000. */
  sampleSize?: number;
  /** Extra directions iterated beside the wanted ones; more separates close eigenvalues better. Default 6. */
  oversampling?: number;
  /** Subspace iterations; each sharpens the axes by the ratio of neighbouring eigenvalues. Default 4. */
  iterations?: number;
  seed?: number;
}

/**
 * Projects vectors onto their first principal axes (centred data); axes keep their largest entry positive,
 * so the same data and seed always draw the same map.
 *
 * sampledPrincipalComponents({ data, count: 50000, dims: 1280 }) // { coordinates: Float32Array(100000), axes: [Float64Array(1280), Float64Array(1280)] }
 */
export function sampledPrincipalComponents(vectors: VectorSet, options: SampledPcaOptions = {}): { coordinates: Float32Array; axes: Float64Array[] } {
  const { data, count, dims } = vectors;
  const components = Math.max(1, Math.min(options.components ?? 2, 8, dims));
  const random = seededRandom(options.seed ?? 0);
  const mean = new Float64Array(dims);
  for (let row = 0; row < count; row++) for (let index = 0; index < dims; index++) mean[index] = mean[index]! + data[row * dims + index]!;
  for (let index = 0; index < dims; index++) mean[index] = mean[index]! / Math.max(count, 1);

  // The sample, centred, as one dense row-major matrix (sampleCount x dims).
  const rows = sampleRows(count, Math.min(count, options.sampleSize ?? 5000), random).sort();
  const sampleCount = rows.length;
  const sample = new Float64Array(sampleCount * dims);
  rows.forEach((row, position) => {
    for (let index = 0; index < dims; index++) sample[position * dims + index] = data[row * dims + index]! - mean[index]!;
  });

  const width = Math.min(dims, sampleCount, components + (options.oversampling ?? 6));
  const axes: Float64Array[] = [];
  if (sampleCount > 0 && width > 0) {
    // Z (dims x width) spans the top of the sample's row space after a few rounds of Z <- orth(S^T orth(S Z)).
    let basis = orthonormalColumns(Float64Array.from({ length: dims * width }, () => gaussian(random)), dims, width);
    for (let iteration = 0; iteration < (options.iterations ?? 4); iteration++) {
      const left = orthonormalColumns(multiply(sample, basis, sampleCount, dims, width), sampleCount, width);
      basis = orthonormalColumns(multiplyTransposed(sample, sampleCount, dims, left, width), dims, width);
    }
    // Rayleigh-Ritz: the covariance of the sample within the subspace, diagonalised exactly.
    const projected = multiply(sample, basis, sampleCount, dims, width);
    const small = new Float64Array(width * width);
    for (let row = 0; row < sampleCount; row++) {
      for (let a = 0; a < width; a++) {
        const value = projected[row * width + a]!;
        for (let b = a; b < width; b++) small[a * width + b] = small[a * width + b]! + value * projected[row * width + b]!;
      }
    }
    for (let a = 0; a < width; a++) for (let b = 0; b < a; b++) small[a * width + b] = small[b * width + a]!;
    const { values, vectors: eigenvectors } = symmetricEigen(small, width);
    const order = [...values.keys()].sort((a, b) => values[b]! - values[a]!);
    for (const which of order.slice(0, components)) {
      const axis = new Float64Array(dims);
      for (let index = 0; index < dims; index++) {
        let sum = 0;
        for (let column = 0; column < width; column++) sum += basis[index * width + column]! * eigenvectors[column * width + which]!;
        axis[index] = sum;
      }
      let largest = 0;
      for (let index = 1; index < dims; index++) if (Math.abs(axis[index]!) > Math.abs(axis[largest]!)) largest = index;
      if (axis[largest]! < 0) for (let index = 0; index < dims; index++) axis[index] = -axis[index]!;
      axes.push(axis);
    }
  }
  while (axes.length < components) axes.push(new Float64Array(dims));

  // One pass over the rows: each is centred and projected on every axis at once (axes interleaved).
  const interleaved = new Float64Array(dims * components);
  axes.forEach((axis, component) => axis.forEach((value, index) => (interleaved[index * components + component] = value)));
  const coordinates = new Float32Array(count * components);
  const sums = new Float64Array(components);
  for (let row = 0; row < count; row++) {
    sums.fill(0);
    const offset = row * dims;
    for (let index = 0; index < dims; index++) {
      const value = data[offset + index]! - mean[index]!;
      for (let component = 0; component < components; component++) sums[component] = sums[component]! + value * interleaved[index * components + component]!;
    }
    coordinates.set(sums, row * components);
  }
  return { coordinates, axes };
}

/** A standard normal draw (Box-Muller). */
function gaussian(random: RandomSource): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** A^T (A is rows x inner) times B (rows x columns), both row-major: an inner x columns result. */
function multiplyTransposed(a: Float64Array, rows: number, inner: number, b: Float64Array, columns: number): Float64Array {
  const result = new Float64Array(inner * columns);
  for (let row = 0; row < rows; row++) {
    for (let index = 0; index < inner; index++) {
      const value = a[row * inner + index]!;
      if (value === 0) continue;
      for (let column = 0; column < columns; column++) result[index * columns + column] = result[index * columns + column]! + value * b[row * columns + column]!;
    }
  }
  return result;
}

/** Orthonormalises the columns of a row-major (rows x columns) matrix in place (modified Gram-Schmidt, twice). */
function orthonormalColumns(matrix: Float64Array, rows: number, columns: number): Float64Array {
  for (let pass = 0; pass < 2; pass++) {
    for (let column = 0; column < columns; column++) {
      for (let previous = 0; previous < column; previous++) {
        let dot = 0;
        for (let row = 0; row < rows; row++) dot += matrix[row * columns + column]! * matrix[row * columns + previous]!;
        for (let row = 0; row < rows; row++) matrix[row * columns + column] = matrix[row * columns + column]! - dot * matrix[row * columns + previous]!;
      }
      let norm = 0;
      for (let row = 0; row < rows; row++) norm += matrix[row * columns + column]! ** 2;
      norm = Math.sqrt(norm);
      // A column with nothing left (rank-deficient data) stays zero and drops out of the Ritz step.
      for (let row = 0; row < rows; row++) matrix[row * columns + column] = norm > 1e-12 ? matrix[row * columns + column]! / norm : 0;
    }
  }
  return matrix;
}
