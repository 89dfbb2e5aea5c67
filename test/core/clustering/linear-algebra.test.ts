import { describe, expect, it } from 'vitest';
import {
  cholesky,
  jacobiEigen,
  multiply,
  pivotedQr,
  singularValueDecomposition,
  solveLowerInPlace,
  solveLowerTransposedInPlace,
  symmetricEigen,
  transpose,
} from '../../../src-main/core/clustering/linear-algebra';
import { seededRandom } from '../../../src-main/core/util/random';

/** A seeded random symmetric matrix with entries in [-1, 1). */
function randomSymmetric(size: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  const matrix = new Float64Array(size * size);
  for (let row = 0; row < size; row++) {
    for (let column = 0; column <= row; column++) {
      const value = 2 * random() - 1;
      matrix[row * size + column] = value;
      matrix[column * size + row] = value;
    }
  }
  return matrix;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, digits: number): void {
  expect(actual.length).toBe(expected.length);
  for (let index = 0; index < expected.length; index++) expect(actual[index]).toBeCloseTo(expected[index]!, digits);
}

/** Checks A V = V diag(values) and V^T V = I to the given number of digits. */
function expectEigenpairs(matrix: Float64Array, size: number, values: Float64Array, vectors: Float64Array, digits: number): void {
  expectClose(multiply(matrix, vectors, size, size, size), multiply(vectors, diagonal(values), size, size, size), digits);
  expectClose(multiply(transpose(vectors, size, size), vectors, size, size, size), diagonal(new Float64Array(size).fill(1)), digits);
}

function diagonal(values: Float64Array): Float64Array {
  const size = values.length;
  const result = new Float64Array(size * size);
  for (let index = 0; index < size; index++) result[index * size + index] = values[index]!;
  return result;
}

describe('symmetric eigensolvers', () => {
  // Closed forms: [[2,1],[1,2]] has eigenvalues 1 and 3; the second-difference matrix tridiag(-1, 2, -1) of
  // order 3 has 2 - 2 cos(k pi / 4), that is 2 - sqrt2, 2, 2 + sqrt2, with eigenvectors sin(j k pi / 4).
  for (const [name, solve] of [
    ['tridiagonal QL', symmetricEigen],
    ['cyclic Jacobi', jacobiEigen],
  ] as const) {
    it(`${name}: exact eigenpairs of tiny matrices`, () => {
      const two = solve(Float64Array.of(2, 1, 1, 2), 2);
      expectClose(two.values, [1, 3], 14);
      expect(Math.abs(two.vectors[0]!)).toBeCloseTo(Math.SQRT1_2, 14);
      expect(two.vectors[0]! * two.vectors[2]!).toBeCloseTo(-0.5, 14); // (1, -1) / sqrt2 up to sign
      expect(two.vectors[1]! * two.vectors[3]!).toBeCloseTo(0.5, 14); // (1, 1) / sqrt2 up to sign

      const three = solve(Float64Array.of(2, -1, 0, -1, 2, -1, 0, -1, 2), 3);
      expectClose(three.values, [2 - Math.SQRT2, 2, 2 + Math.SQRT2], 14);
      const expected = [
        [0.5, Math.SQRT1_2, 0.5],
        [Math.SQRT1_2, 0, -Math.SQRT1_2],
        [0.5, -Math.SQRT1_2, 0.5],
      ];
      for (let k = 0; k < 3; k++) {
        const sign = Math.sign(three.vectors[k]!);
        for (let j = 0; j < 3; j++) expect(sign * three.vectors[j * 3 + k]!).toBeCloseTo(expected[k]![j]!, 14);
      }
    });

    it(`${name}: random and repeated spectra`, () => {
      const matrix = randomSymmetric(12, 5);
      const { values, vectors } = solve(matrix, 12);
      expectEigenpairs(matrix, 12, values, vectors, 12);
      // The identity plus a rank-one term: eigenvalue 1 eleven times and 1 + |u|^2 once.
      const u = Array.from({ length: 12 }, (_, index) => index / 6);
      const repeated = new Float64Array(144);
      for (let i = 0; i < 12; i++) for (let j = 0; j < 12; j++) repeated[i * 12 + j] = (i === j ? 1 : 0) + u[i]! * u[j]!;
      const spiked = solve(repeated, 12);
      expectClose(spiked.values, [...Array(11).fill(1), 1 + u.reduce((sum, value) => sum + value * value, 0)], 12);
      expectEigenpairs(repeated, 12, spiked.values, spiked.vectors, 12);
    });
  }

  it('the two solvers agree on eigenvalues of a larger random matrix', () => {
    const matrix = randomSymmetric(60, 11);
    expectClose(symmetricEigen(matrix, 60).values, jacobiEigen(matrix, 60).values, 11);
    expectEigenpairs(matrix, 60, symmetricEigen(matrix, 60).values, symmetricEigen(matrix, 60).vectors, 11);
  });

  it('handles order 0 and 1', () => {
    expect(symmetricEigen(new Float64Array(0), 0).values.length).toBe(0);
    expectClose(symmetricEigen(Float64Array.of(-4), 1).values, [-4], 15);
    expectClose(symmetricEigen(Float64Array.of(-4), 1).vectors, [1], 15);
  });
});

describe('cholesky', () => {
  it('factors small positive definite matrices exactly', () => {
    expectClose(cholesky(Float64Array.of(4, 2, 2, 3), 2)!, [2, 0, 1, Math.SQRT2], 15);
    // The textbook example (Wikipedia, "Cholesky decomposition"): L = [[2,0,0],[6,1,0],[-8,5,3]].
    expectClose(cholesky(Float64Array.of(4, 12, -16, 12, 37, -43, -16, -43, 98), 3)!, [2, 0, 0, 6, 1, 0, -8, 5, 3], 13);
  });

  it('reports a matrix that is not positive definite', () => {
    expect(cholesky(Float64Array.of(1, 2, 2, 1), 2)).toBeUndefined();
    expect(cholesky(Float64Array.of(1, 1, 1, 1), 2)).toBeUndefined();
  });

  it('triangular solves invert L and L^T', () => {
    const lower = Float64Array.of(2, 0, 0, 6, 1, 0, -8, 5, 3);
    const b = Float64Array.of(2, 4, 7, 1, -16, 0);
    const forward = Float64Array.from(b);
    solveLowerInPlace(lower, 3, forward, 2);
    expectClose(multiply(lower, forward, 3, 3, 2), b, 13);
    const backward = Float64Array.from(b);
    solveLowerTransposedInPlace(lower, 3, backward, 2);
    expectClose(multiply(transpose(lower, 3, 3), backward, 3, 3, 2), b, 13);
  });
});

describe('QR with column pivoting', () => {
  it('picks the largest remaining column each step', () => {
    // Columns (1,0), (3,4), (0,1): norm 5 first; then what is left orthogonal to (3,4) is 0.8 for the
    // first column and 0.6 for the third. R = [[-5, -0.6, -0.8], [0, 0.8, -0.6]] (LAPACK's signs).
    const { pivots, r } = pivotedQr(Float64Array.of(1, 3, 0, 0, 4, 1), 2, 3);
    expect(Array.from(pivots)).toEqual([1, 0]);
    expectClose(r, [-5, -0.6, -0.8, 0, 0.8, -0.6], 14);
  });

  it('satisfies R^T R = A_P^T A_P on a random wide matrix and takes the first of equal columns', () => {
    const random = seededRandom(2);
    const rows = 4;
    const columns = 9;
    const matrix = Float64Array.from({ length: rows * columns }, () => random() - 0.5);
    const { pivots, r } = pivotedQr(matrix, rows, columns, columns);
    expect(new Set(pivots).size).toBe(columns);
    const permuted = new Float64Array(rows * columns);
    for (let row = 0; row < rows; row++) for (let index = 0; index < columns; index++) permuted[row * columns + index] = matrix[row * columns + pivots[index]!]!;
    const gram = (a: Float64Array) => multiply(transpose(a, rows, columns), a, columns, rows, columns);
    expectClose(gram(r), gram(permuted), 12);
    for (let index = 1; index < rows; index++) expect(Math.abs(r[index * columns + index]!)).toBeLessThanOrEqual(Math.abs(r[(index - 1) * columns + index - 1]!) + 1e-12);
    expect(Array.from(pivotedQr(Float64Array.of(1, 1, 0, 0), 2, 2, 1).pivots)).toEqual([0]);
  });
});

describe('singular value decomposition', () => {
  it('gives the exact singular values of a 2 x 2 matrix and reconstructs it', () => {
    // [[3,0],[4,5]]: A^T A = [[25,20],[20,25]] has eigenvalues 45 and 5.
    const matrix = Float64Array.of(3, 0, 4, 5);
    const { u, values, v } = singularValueDecomposition(matrix, 2, 2);
    expectClose(values, [3 * Math.sqrt(5), Math.sqrt(5)], 14);
    expectClose(multiply(multiply(u, diagonal(values), 2, 2, 2), transpose(v, 2, 2), 2, 2, 2), matrix, 14);
  });

  it('works for tall, wide and rank-deficient matrices', () => {
    const random = seededRandom(9);
    for (const [rows, columns] of [
      [6, 4],
      [3, 5],
    ] as const) {
      const matrix = Float64Array.from({ length: rows * columns }, () => random() - 0.5);
      const { u, values, v } = singularValueDecomposition(matrix, rows, columns);
      const n = Math.min(rows, columns);
      expectClose(multiply(multiply(u, diagonal(values), rows, n, n), transpose(v, columns, n), rows, n, columns), matrix, 13);
      expectClose(multiply(transpose(u, rows, n), u, n, rows, n), diagonal(new Float64Array(n).fill(1)), 13);
      expectClose(multiply(transpose(v, columns, n), v, n, columns, n), diagonal(new Float64Array(n).fill(1)), 13);
    }
    // Rank one: the missing left singular vector is completed to an orthonormal U.
    const { u, values } = singularValueDecomposition(Float64Array.of(1, 2, 2, 4), 2, 2);
    expectClose(values, [5, 0], 14);
    expectClose(multiply(transpose(u, 2, 2), u, 2, 2, 2), [1, 0, 0, 1], 14);
  });
});
