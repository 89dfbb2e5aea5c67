/**
 * Label assignment from a spectral embedding by column-pivoted QR (Damle, Minden and Ying 2019, "Simple,
 * direct and efficient multi-way spectral clustering", Information and Inference 8(1), Algorithm 1), as
 * scikit-learn's `cluster_qr`: pick the k most independent points by QR with column pivoting of the
 * embedding's transpose, rotate the embedding so those points line up with the axes (the orthogonal polar
 * factor U V^T of their k x k block), and give each point the axis where its rotated row is largest in
 * magnitude. Deterministic, no restarts, and O(N k^2).
 */
import { pivotedQr, singularValueDecomposition } from './linear-algebra';
import type { MatrixKernel } from './matrix-kernel';

/**
 * From this count x k^2 on, the pivots and the rotation come from products on the matrix kernel
 * (kernelPivots) instead of Householder QR in JavaScript: at N = 200,000, k = 160 the QR took 14 s of the
 * 20 s assignment.
 */
const KERNEL_WORK = 2 ** 24;

/**
 * Assigns each of `count` points to one of `k` clusters from its embedding row (row-major count x k). With a
 * kernel and a large embedding the heavy steps run as matrix products in float32.
 *
 * await clusterQr(Float64Array.of(1, 0, 0.9, 0.1, 0, 1, 0.2, 0.8), 4, 2) // Int32Array [0, 0, 1, 1]
 */
export async function clusterQr(embedding: Float64Array | Float32Array, count: number, k: number, kernel?: MatrixKernel, kernelWork = KERNEL_WORK): Promise<Int32Array> {
  if (embedding.length !== count * k) throw new Error('Embedding size does not match count x k.');
  if (k < 1 || count < k) throw new Error(`Cannot assign ${count} images to ${k} clusters.`);
  const onKernel = kernel !== undefined && count * k * k >= kernelWork && k >= 2;
  let pivots: Int32Array;
  if (onKernel) {
    pivots = await kernelPivots(Float32Array.from(embedding), count, k, kernel);
  } else {
    // The transpose (k x count) as a row-major array: row j is the j-th embedding coordinate of every point.
    const transposed = new Float64Array(k * count);
    for (let point = 0; point < count; point++) {
      for (let column = 0; column < k; column++) transposed[column * count + point] = embedding[point * k + column]!;
    }
    pivots = pivotedQr(transposed, k, count, k).pivots;
  }
  // scikit-learn: ut, _, v = svd(vectors[piv[:k], :].T); rotation = ut @ v (v is V^T there).
  const selected = new Float64Array(k * k);
  for (let row = 0; row < k; row++) {
    for (let index = 0; index < k; index++) selected[row * k + index] = embedding[pivots[index]! * k + row]!;
  }
  const { u, v } = singularValueDecomposition(selected, k, k);
  const rotation = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let sum = 0;
      for (let m = 0; m < k; m++) sum += u[i * k + m]! * v[j * k + m]!;
      rotation[i * k + j] = sum;
    }
  }
  if (onKernel) return kernelRotatedCoordinate(embedding instanceof Float32Array ? embedding : Float32Array.from(embedding), count, k, rotation, kernel);
  return largestRotatedCoordinate(embedding, count, k, rotation);
}

/**
 * The first k pivots of QR with column pivoting of E^T (E the count x k embedding) without forming Q or R:
 * step j picks the row of E with the largest residual |e_i|^2 - sum over l < j of (e_i . q_l)^2, the q_l
 * being the orthonormal directions of the rows picked so far (Gram-Schmidt, twice for accuracy, in float64).
 * That is the pivot dgeqp3 picks (the remaining column of largest norm after the earlier reflections, which
 * remove exactly the components along q_0..q_{j-1}). Each step costs one product E q_j (count x k) on the
 * kernel and a pass over the residuals; float32 products decide differently from float64 QR only between
 * rows whose residuals agree to about 1e-6.
 */
async function kernelPivots(embedding: Float32Array, count: number, k: number, kernel: MatrixKernel): Promise<Int32Array> {
  const residuals = new Float64Array(count);
  for (let point = 0; point < count; point++) {
    let sum = 0;
    for (let column = 0; column < k; column++) sum += embedding[point * k + column]! ** 2;
    residuals[point] = sum;
  }
  const pivots = new Int32Array(k);
  const directions = new Float64Array(k * k);
  const direction = new Float64Array(k);
  const directionSingle = new Float32Array(k);
  for (let step = 0; step < k; step++) {
    let best = 0;
    for (let point = 1; point < count; point++) if (residuals[point]! > residuals[best]!) best = point;
    pivots[step] = best;
    residuals[best] = -Infinity;
    for (let column = 0; column < k; column++) direction[column] = embedding[best * k + column]!;
    for (let pass = 0; pass < 2; pass++) {
      for (let earlier = 0; earlier < step; earlier++) {
        let dot = 0;
        for (let column = 0; column < k; column++) dot += direction[column]! * directions[earlier * k + column]!;
        for (let column = 0; column < k; column++) direction[column] = direction[column]! - dot * directions[earlier * k + column]!;
      }
    }
    let norm = 0;
    for (let column = 0; column < k; column++) norm += direction[column]! ** 2;
    norm = Math.sqrt(norm);
    // A pivot already in the span of the earlier ones (rank below k) adds no direction.
    if (norm === 0) continue;
    for (let column = 0; column < k; column++) {
      directions[step * k + column] = direction[column]! / norm;
      directionSingle[column] = direction[column]! / norm;
    }
    if (step === k - 1) break;
    const rowsPerProduct = Math.max(1, Math.floor(PRODUCT_FLOATS / k));
    for (let start = 0; start < count; start += rowsPerProduct) {
      const rows = Math.min(rowsPerProduct, count - start);
      const products = await kernel.multiplyTransposed(embedding.subarray(start * k, (start + rows) * k), rows, directionSingle, 1, k);
      for (let row = 0; row < rows; row++) residuals[start + row] = residuals[start + row]! - products[row]! * products[row]!;
    }
  }
  return pivots;
}

/** Rows per product block: 16 M floats (64 MB). */
const PRODUCT_FLOATS = 16 * 1024 * 1024;

/** largestRotatedCoordinate with E R as products on the kernel, in blocks of rows. */
async function kernelRotatedCoordinate(embedding: Float32Array, count: number, k: number, rotation: Float64Array, kernel: MatrixKernel): Promise<Int32Array> {
  // multiplyTransposed takes the right factor's rows: row j of R^T is column j of R.
  const rotationTransposed = new Float32Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) rotationTransposed[j * k + i] = rotation[i * k + j]!;
  const labels = new Int32Array(count);
  const rowsPerProduct = Math.max(1, Math.floor(PRODUCT_FLOATS / k));
  for (let start = 0; start < count; start += rowsPerProduct) {
    const rows = Math.min(rowsPerProduct, count - start);
    const rotated = await kernel.multiplyTransposed(embedding.subarray(start * k, (start + rows) * k), rows, rotationTransposed, k, k);
    for (let row = 0; row < rows; row++) {
      let best = 0;
      let largest = Math.abs(rotated[row * k]!);
      for (let j = 1; j < k; j++) {
        const value = Math.abs(rotated[row * k + j]!);
        if (value > largest) {
          largest = value;
          best = j;
        }
      }
      labels[start + row] = best;
    }
  }
  return labels;
}

/**
 * For each row e of the embedding, the index of the largest |(e R)_j| (the first on ties, as numpy's
 * argmax). Four embedding coordinates per pass over the output row: about twice as fast as one at a time.
 */
function largestRotatedCoordinate(embedding: Float64Array | Float32Array, count: number, k: number, rotation: Float64Array): Int32Array {
  const labels = new Int32Array(count);
  const row = new Float64Array(k);
  const unrolled = k - (k % 4);
  for (let point = 0; point < count; point++) {
    row.fill(0);
    const offset = point * k;
    let i = 0;
    for (; i < unrolled; i += 4) {
      const first = embedding[offset + i]!;
      const second = embedding[offset + i + 1]!;
      const third = embedding[offset + i + 2]!;
      const fourth = embedding[offset + i + 3]!;
      const base = i * k;
      for (let j = 0; j < k; j++) {
        row[j] = row[j]! + first * rotation[base + j]! + second * rotation[base + k + j]! + third * rotation[base + 2 * k + j]! + fourth * rotation[base + 3 * k + j]!;
      }
    }
    for (; i < k; i++) {
      const value = embedding[offset + i]!;
      for (let j = 0; j < k; j++) row[j] = row[j]! + value * rotation[i * k + j]!;
    }
    let best = 0;
    for (let j = 1; j < k; j++) if (Math.abs(row[j]!) > Math.abs(row[best]!)) best = j;
    labels[point] = best;
  }
  return labels;
}
