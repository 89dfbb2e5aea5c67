/**
 * Small dense linear algebra in float64 for the spectral clustering pipeline: symmetric eigensolvers,
 * Cholesky, Householder QR with column pivoting and the singular value decomposition. Sizes here are the
 * block sizes of LOBPCG and the number of clusters (tens to a few hundred), so plain loops are fast enough
 * and keep the code free of native dependencies.
 *
 * Every matrix is a row-major Float64Array: element (row, column) of an r x c matrix is at `row * c + column`.
 * Inside the algorithms, the short variable names follow the cited sources (EISPACK and JAMA, Golub and
 * Van Loan) so the code can be checked line by line against them.
 */

/** Eigenvalues in ascending order and the matching unit eigenvectors as the columns of `vectors` (size x size). */
export interface SymmetricEigen {
  values: Float64Array;
  vectors: Float64Array;
}

/** Factors A = U diag(values) V^T; `values` descending, U is rows x n and V is n x n with n = min(rows, columns). */
export interface SingularValueDecomposition {
  u: Float64Array;
  values: Float64Array;
  v: Float64Array;
}

/** Columns chosen by QR with column pivoting, in order, and the upper-trapezoidal factor R (rows x columns). */
export interface PivotedQr {
  pivots: Int32Array;
  r: Float64Array;
}

const EPSILON = 2 ** -52;

/** Returns the transpose of a rows x columns matrix (columns x rows). */
export function transpose(matrix: Float64Array, rows: number, columns: number): Float64Array {
  const result = new Float64Array(rows * columns);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) result[column * rows + row] = matrix[row * columns + column]!;
  }
  return result;
}

/** Returns A B for A (rows x inner) and B (inner x columns). */
export function multiply(a: Float64Array, b: Float64Array, rows: number, inner: number, columns: number): Float64Array {
  const result = new Float64Array(rows * columns);
  for (let row = 0; row < rows; row++) {
    const target = row * columns;
    for (let index = 0; index < inner; index++) {
      const value = a[row * inner + index]!;
      if (value === 0) continue;
      const source = index * columns;
      for (let column = 0; column < columns; column++) result[target + column] = result[target + column]! + value * b[source + column]!;
    }
  }
  return result;
}

/**
 * Eigen-decomposition of a symmetric matrix by Householder tridiagonalisation and the implicit QL method
 * (EISPACK tred2 and tql2, as in the public-domain JAMA library). About 9 n^3 flops with vectors: the fast
 * solver for LOBPCG's Rayleigh-Ritz step. Only the lower triangle is read.
 *
 * symmetricEigen(Float64Array.of(2, 1, 1, 2), 2) // { values: [1, 3], vectors: columns (1,-1)/sqrt2, (1,1)/sqrt2 up to sign }
 */
export function symmetricEigen(matrix: Float64Array, size: number): SymmetricEigen {
  const n = size;
  // V is worked on transposed (row j holds column j of JAMA's V) so the QL rotations touch contiguous memory.
  const v = new Float64Array(n * n);
  for (let row = 0; row < n; row++) {
    for (let column = 0; column <= row; column++) {
      const value = matrix[row * n + column]!;
      v[row * n + column] = value;
      v[column * n + row] = value;
    }
  }
  if (n === 0) return { values: new Float64Array(0), vectors: v };
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  // JAMA's V[row][column] is stored at v[column * n + row]: the inner loops below then walk contiguous memory,
  // and at the end v holds V^T, whose rows the QL rotations below combine. The start is symmetric either way.
  const at = (row: number, column: number) => column * n + row;
  for (let j = 0; j < n; j++) d[j] = v[at(n - 1, j)]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = v[at(i - 1, j)]!;
        v[at(i, j)] = 0;
        v[at(j, i)] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        v[at(j, i)] = f;
        g = e[j]! + v[at(j, j)]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += v[at(k, j)]! * d[k]!;
          e[k] = e[k]! + v[at(k, j)]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = e[j]! - hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) v[at(k, j)] = v[at(k, j)]! - (f * e[k]! + g * d[k]!);
        d[j] = v[at(i - 1, j)]!;
        v[at(i, j)] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    v[at(n - 1, i)] = v[at(i, i)]!;
    v[at(i, i)] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = v[at(k, i + 1)]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += v[at(k, i + 1)]! * v[at(k, j)]!;
        for (let k = 0; k <= i; k++) v[at(k, j)] = v[at(k, j)]! - g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) v[at(k, i + 1)] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = v[at(n - 1, j)]!;
    v[at(n - 1, j)] = 0;
  }
  v[at(n - 1, n - 1)] = 1;
  e[0] = 0;

  // Implicit QL on the tridiagonal (d, e). Rotations act on columns i and i+1 of V, that is rows of v = V^T.
  const vt = v;
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= EPSILON * tst1) break;
      m++;
    }
    if (m > l) {
      let iteration = 0;
      do {
        if (++iteration > 60) throw new Error('The symmetric eigensolver did not converge; the matrix may hold NaN or infinite values.');
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          const low = i * n;
          const high = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const upper = vt[high + k]!;
            const lower = vt[low + k]!;
            vt[high + k] = s * lower + c * upper;
            vt[low + k] = c * lower - s * upper;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > EPSILON * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
  return sortedEigen(d, vt, n);
}

/** Sorts eigenvalues ascending and turns rows of `vectorRows` (one eigenvector each) into columns. */
function sortedEigen(values: Float64Array, vectorRows: Float64Array, n: number): SymmetricEigen {
  const order = Array.from({ length: n }, (_, index) => index).sort((a, b) => values[a]! - values[b]! || a - b);
  const sortedValues = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((source, target) => {
    sortedValues[target] = values[source]!;
    for (let k = 0; k < n; k++) vectors[k * n + target] = vectorRows[source * n + k]!;
  });
  return { values: sortedValues, vectors };
}

/**
 * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations (Rutishauser's formulas, as in
 * Golub and Van Loan, Algorithm 8.5.3). Slower than `symmetricEigen` (several n^3 sweeps) but simple and
 * accurate to working precision, so it serves as an independent check.
 */
export function jacobiEigen(matrix: Float64Array, size: number, maxSweeps = 100): SymmetricEigen {
  const n = size;
  const a = new Float64Array(n * n);
  for (let row = 0; row < n; row++) {
    for (let column = 0; column <= row; column++) {
      a[row * n + column] = matrix[row * n + column]!;
      a[column * n + row] = matrix[row * n + column]!;
    }
  }
  // Rows of `vectorRows` are the eigenvectors being accumulated.
  const vectorRows = new Float64Array(n * n);
  for (let index = 0; index < n; index++) vectorRows[index * n + index] = 1;
  let total = 0;
  for (const value of a) total += value * value;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let offDiagonal = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) offDiagonal += 2 * a[p * n + q]! ** 2;
    if (offDiagonal <= EPSILON * EPSILON * total) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A <- J^T A J with J the rotation in the (p, q) plane: first the columns, then the rows.
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vp = vectorRows[p * n + k]!;
          const vq = vectorRows[q * n + k]!;
          vectorRows[p * n + k] = c * vp - s * vq;
          vectorRows[q * n + k] = s * vp + c * vq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let index = 0; index < n; index++) values[index] = a[index * n + index]!;
  return sortedEigen(values, vectorRows, n);
}

/**
 * Cholesky factor L (lower triangular, A = L L^T) of a symmetric positive definite matrix, or undefined
 * when a pivot is not positive (the matrix is not numerically positive definite). Reads the lower triangle.
 *
 * cholesky(Float64Array.of(4, 2, 2, 3), 2) // Float64Array [2, 0, 1, sqrt(2)]
 */
export function cholesky(matrix: Float64Array, size: number): Float64Array | undefined {
  const n = size;
  const lower = new Float64Array(n * n);
  for (let row = 0; row < n; row++) {
    for (let column = 0; column <= row; column++) {
      let sum = matrix[row * n + column]!;
      for (let k = 0; k < column; k++) sum -= lower[row * n + k]! * lower[column * n + k]!;
      if (row === column) {
        if (!(sum > 0)) return undefined;
        lower[row * n + row] = Math.sqrt(sum);
      } else {
        lower[row * n + column] = sum / lower[column * n + column]!;
      }
    }
  }
  return lower;
}

/** Solves L X = B in place for lower-triangular L (size x size) and B (size x columns). */
export function solveLowerInPlace(lower: Float64Array, size: number, b: Float64Array, columns: number): void {
  for (let row = 0; row < size; row++) {
    const diagonal = lower[row * size + row]!;
    for (let k = 0; k < row; k++) {
      const factor = lower[row * size + k]!;
      if (factor === 0) continue;
      for (let column = 0; column < columns; column++) b[row * columns + column] = b[row * columns + column]! - factor * b[k * columns + column]!;
    }
    for (let column = 0; column < columns; column++) b[row * columns + column] = b[row * columns + column]! / diagonal;
  }
}

/** Solves L^T X = B in place for lower-triangular L (size x size) and B (size x columns). */
export function solveLowerTransposedInPlace(lower: Float64Array, size: number, b: Float64Array, columns: number): void {
  for (let row = size - 1; row >= 0; row--) {
    for (let k = row + 1; k < size; k++) {
      const factor = lower[k * size + row]!;
      if (factor === 0) continue;
      for (let column = 0; column < columns; column++) b[row * columns + column] = b[row * columns + column]! - factor * b[k * columns + column]!;
    }
    const diagonal = lower[row * size + row]!;
    for (let column = 0; column < columns; column++) b[row * columns + column] = b[row * columns + column]! / diagonal;
  }
}

/**
 * Householder QR with column pivoting (Businger and Golub 1965; LAPACK dgeqp3's choice of pivot: the
 * remaining column of largest norm, the first one on ties). Stops after `steps` pivots (default all),
 * which is what cluster_qr needs: it only reads the first k pivots of a k x N matrix.
 *
 * pivotedQr(Float64Array.of(1, 3, 0, 0, 4, 1), 2, 3).pivots // Int32Array [1, 0]: norm 5 first, then 0.8 beats 0.6
 */
export function pivotedQr(matrix: Float64Array, rows: number, columns: number, steps = Math.min(rows, columns)): PivotedQr {
  const a = Float64Array.from(matrix);
  const order = new Int32Array(columns);
  for (let column = 0; column < columns; column++) order[column] = column;
  // Squared norms of the trailing part of each column, downdated after each step; `reference` is the value at
  // the last exact computation, used (like LAPACK dlaqp2) to detect cancellation and recompute.
  const norms = new Float64Array(columns);
  const reference = new Float64Array(columns);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) norms[column] = norms[column]! + a[row * columns + column]! ** 2;
  }
  reference.set(norms);
  const reflector = new Float64Array(rows);
  const projections = new Float64Array(columns);
  const tolerance = Math.sqrt(EPSILON);
  for (let step = 0; step < steps; step++) {
    let best = step;
    for (let column = step + 1; column < columns; column++) if (norms[column]! > norms[best]!) best = column;
    if (best !== step) {
      for (let row = 0; row < rows; row++) {
        const swap = a[row * columns + step]!;
        a[row * columns + step] = a[row * columns + best]!;
        a[row * columns + best] = swap;
      }
      for (const array of [norms, reference]) {
        const swap = array[step]!;
        array[step] = array[best]!;
        array[best] = swap;
      }
      const swap = order[step]!;
      order[step] = order[best]!;
      order[best] = swap;
    }
    // Householder vector v with (I - 2 v v^T / v^T v) x = -sign(x0) |x| e0 for x = a[step.., step].
    let norm = 0;
    for (let row = step; row < rows; row++) norm += a[row * columns + step]! ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const head = a[step * columns + step]!;
    const alpha = head > 0 ? -norm : norm;
    for (let row = step; row < rows; row++) reflector[row] = a[row * columns + step]!;
    reflector[step] = head - alpha;
    let reflectorNorm = 0;
    for (let row = step; row < rows; row++) reflectorNorm += reflector[row]! ** 2;
    projections.fill(0, step + 1);
    for (let row = step; row < rows; row++) {
      const value = reflector[row]!;
      if (value === 0) continue;
      const offset = row * columns;
      for (let column = step + 1; column < columns; column++) projections[column] = projections[column]! + value * a[offset + column]!;
    }
    const scale = 2 / reflectorNorm;
    for (let row = step; row < rows; row++) {
      const value = reflector[row]! * scale;
      if (value === 0) continue;
      const offset = row * columns;
      for (let column = step + 1; column < columns; column++) a[offset + column] = a[offset + column]! - value * projections[column]!;
    }
    a[step * columns + step] = alpha;
    for (let row = step + 1; row < rows; row++) a[row * columns + step] = 0;
    for (let column = step + 1; column < columns; column++) {
      const remaining = norms[column]! - a[step * columns + column]! ** 2;
      if (remaining <= tolerance * reference[column]!) {
        let exact = 0;
        for (let row = step + 1; row < rows; row++) exact += a[row * columns + column]! ** 2;
        norms[column] = exact;
        reference[column] = exact;
      } else {
        norms[column] = remaining;
      }
    }
  }
  return { pivots: order.slice(0, steps), r: a };
}

/**
 * Thin singular value decomposition by one-sided Jacobi rotations (Hestenes 1958): rotates pairs of columns
 * until they are orthogonal; the column norms are then the singular values. Accurate to working precision,
 * and fine for the k x k matrices of cluster_qr. For rows < columns it decomposes the transpose.
 *
 * singularValueDecomposition(Float64Array.of(3, 0, 4, 5), 2, 2).values // Float64Array [3 sqrt(5), sqrt(5)]
 */
export function singularValueDecomposition(matrix: Float64Array, rows: number, columns: number): SingularValueDecomposition {
  if (rows < columns) {
    const flipped = singularValueDecomposition(transpose(matrix, rows, columns), columns, rows);
    return { u: flipped.v, values: flipped.values, v: flipped.u };
  }
  const n = columns;
  // Work on columns as contiguous rows: w holds A^T (n x rows), vt holds V^T.
  const w = transpose(matrix, rows, columns);
  const vt = new Float64Array(n * n);
  for (let index = 0; index < n; index++) vt[index * n + index] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let k = 0; k < rows; k++) {
          const x = w[p * rows + k]!;
          const y = w[q * rows + k]!;
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= EPSILON * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let k = 0; k < rows; k++) {
          const x = w[p * rows + k]!;
          const y = w[q * rows + k]!;
          w[p * rows + k] = c * x - s * y;
          w[q * rows + k] = s * x + c * y;
        }
        for (let k = 0; k < n; k++) {
          const x = vt[p * n + k]!;
          const y = vt[q * n + k]!;
          vt[p * n + k] = c * x - s * y;
          vt[q * n + k] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const norms = new Float64Array(n);
  for (let index = 0; index < n; index++) {
    let sum = 0;
    for (let k = 0; k < rows; k++) sum += w[index * rows + k]! ** 2;
    norms[index] = Math.sqrt(sum);
  }
  const order = Array.from({ length: n }, (_, index) => index).sort((a, b) => norms[b]! - norms[a]! || a - b);
  const u = new Float64Array(rows * n);
  const v = new Float64Array(n * n);
  const values = new Float64Array(n);
  order.forEach((source, target) => {
    const value = norms[source]!;
    values[target] = value;
    for (let k = 0; k < rows; k++) u[k * n + target] = value > 0 ? w[source * rows + k]! / value : 0;
    for (let k = 0; k < n; k++) v[k * n + target] = vt[source * n + k]!;
  });
  completeOrthonormalColumns(u, rows, n, values);
  return { u, values, v };
}

/** Replaces the columns of U that belong to zero singular values by unit vectors orthogonal to the others. */
function completeOrthonormalColumns(u: Float64Array, rows: number, n: number, values: Float64Array): void {
  const largest = values[0] ?? 0;
  for (let column = 0; column < n; column++) {
    if (values[column]! > largest * EPSILON * Math.max(rows, n) && values[column]! > 0) continue;
    // Gram-Schmidt of each standard basis vector against the columns so far; keep the first that survives.
    for (let basis = 0; basis < rows; basis++) {
      const candidate = new Float64Array(rows);
      candidate[basis] = 1;
      for (let pass = 0; pass < 2; pass++) {
        for (let other = 0; other < n; other++) {
          if (other === column) continue;
          let dot = 0;
          for (let k = 0; k < rows; k++) dot += u[k * n + other]! * candidate[k]!;
          for (let k = 0; k < rows; k++) candidate[k] = candidate[k]! - dot * u[k * n + other]!;
        }
      }
      let norm = 0;
      for (let k = 0; k < rows; k++) norm += candidate[k]! ** 2;
      norm = Math.sqrt(norm);
      if (norm > 0.5) {
        for (let k = 0; k < rows; k++) u[k * n + column] = candidate[k]! / norm;
        break;
      }
    }
  }
}
