import { describe, expect, it } from 'vitest';
import { connectivityAffinity, nearestNeighbors } from '../../../src-main/core/clustering/knn-graph';
import { symmetricEigen } from '../../../src-main/core/clustering/linear-algebra';
import { type BlockVectors, lobpcg, type SymmetricOperator } from '../../../src-main/core/clustering/lobpcg';
import { javascriptKernel, onnxKernel } from '../../../src-main/core/clustering/matrix-kernel';
import { normalizedAdjacency } from '../../../src-main/core/clustering/spectral';
import type { Progress } from '../../../src-main/core/util/progress';
import { seededRandom } from '../../../src-main/core/util/random';
import { blobs } from '../../helpers/fixtures';

/** A dense symmetric matrix as an operator. */
function denseOperator(matrix: Float64Array, size: number): SymmetricOperator {
  return {
    size,
    multiply(block: BlockVectors, columns: number) {
      const result = new Float64Array(size * columns);
      for (let row = 0; row < size; row++) {
        for (let k = 0; k < size; k++) {
          const value = matrix[row * size + k]!;
          for (let column = 0; column < columns; column++) result[row * columns + column] = result[row * columns + column]! + value * block[k * columns + column]!;
        }
      }
      return result;
    },
  };
}

/** |cos| of the angle between column `a` of one block and column `b` of another (both size x columns). */
function alignment(first: Float64Array, second: Float64Array, size: number, columns: number, column: number): number {
  let dot = 0;
  let firstNorm = 0;
  let secondNorm = 0;
  for (let row = 0; row < size; row++) {
    const x = first[row * columns + column]!;
    const y = second[row * columns + column]!;
    dot += x * y;
    firstNorm += x * x;
    secondNorm += y * y;
  }
  return Math.abs(dot) / Math.sqrt(firstNorm * secondNorm);
}

/** A seeded symmetric matrix with a planted spectrum: 5 eigenvalues spread over [2, 3], the rest in [-1, 1]. */
function plantedMatrix(size: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  const matrix = new Float64Array(size * size);
  for (let row = 0; row < size; row++) {
    for (let column = 0; column <= row; column++) {
      const value = (random() - 0.5) * (2 / Math.sqrt(size));
      matrix[row * size + column] = value;
      matrix[column * size + row] = value;
    }
  }
  // Rank-one spikes along seeded random directions lift five eigenvalues out of the bulk.
  for (let spike = 0; spike < 5; spike++) {
    const direction = Array.from({ length: size }, () => random() - 0.5);
    const norm = Math.hypot(...direction);
    const height = 2 + spike * 0.25;
    for (let row = 0; row < size; row++) {
      for (let column = 0; column < size; column++) matrix[row * size + column] = matrix[row * size + column]! + (height * direction[row]! * direction[column]!) / (norm * norm);
    }
  }
  return matrix;
}

describe('LOBPCG', () => {
  it('finds the top eigenpairs of the second-difference matrix (closed form)', async () => {
    // tridiag(-1, 2, -1) of order n: eigenvalues 2 - 2 cos(j pi / (n + 1)), eigenvectors sin(i j pi / (n + 1)).
    const size = 40;
    const operator: SymmetricOperator = {
      size,
      multiply(block, columns) {
        const result = new Float64Array(size * columns);
        for (let row = 0; row < size; row++) {
          for (let column = 0; column < columns; column++) {
            const above = row > 0 ? block[(row - 1) * columns + column]! : 0;
            const below = row < size - 1 ? block[(row + 1) * columns + column]! : 0;
            result[row * columns + column] = 2 * block[row * columns + column]! - above - below;
          }
        }
        return result;
      },
    };
    const result = await lobpcg(operator, { count: 3, blockSize: 6, tolerance: 1e-9, seed: 3 });
    expect(result.converged).toBe(true);
    for (let k = 0; k < 3; k++) {
      const j = size - k;
      expect(result.values[k]).toBeCloseTo(2 - 2 * Math.cos((j * Math.PI) / (size + 1)), 10);
      const exact = Float64Array.from({ length: size * 3 }, (_, index) => (index % 3 === k ? Math.sin(((Math.floor(index / 3) + 1) * j * Math.PI) / (size + 1)) : 0));
      expect(alignment(result.vectors, exact, size, 3, k)).toBeCloseTo(1, 8);
    }
  });

  it('agrees with the dense solver on a matrix with a planted spectrum', async () => {
    const size = 150;
    const matrix = plantedMatrix(size, 8);
    const dense = symmetricEigen(matrix, size);
    const result = await lobpcg(denseOperator(matrix, size), { count: 4, seed: 1, tolerance: 1e-9 });
    expect(result.converged).toBe(true);
    for (let k = 0; k < 4; k++) {
      expect(result.values[k]).toBeCloseTo(dense.values[size - 1 - k]!, 10);
      const expected = Float64Array.from({ length: size * 4 }, (_, index) => (index % 4 === k ? dense.vectors[Math.floor(index / 4) * size + size - 1 - k]! : 0));
      expect(alignment(result.vectors, expected, size, 4, k)).toBeCloseTo(1, 8);
      expect(result.residualNorms[k]).toBeLessThan(1e-9);
    }
  });

  it('is reproducible for a seed, reports progress, and returns unconverged vectors at the iteration limit', async () => {
    const size = 150;
    const operator = denseOperator(plantedMatrix(size, 8), size);
    const fractions: number[] = [];
    const first = await lobpcg(operator, { count: 4, seed: 7, onProgress: (progress: Progress) => fractions.push(progress.fraction) });
    const second = await lobpcg(operator, { count: 4, seed: 7 });
    expect(Array.from(second.vectors)).toEqual(Array.from(first.vectors));
    expect(fractions.at(-1)).toBe(1);
    for (let index = 1; index < fractions.length; index++) expect(fractions[index]!).toBeGreaterThanOrEqual(fractions[index - 1]!);
    const limited = await lobpcg(operator, { count: 4, seed: 7, maxIterations: 1, tolerance: 1e-12 });
    expect(limited.converged).toBe(false);
    expect(limited.iterations).toBe(1);
  });

  it('stops when cancelled between iterations', async () => {
    const size = 150;
    const controller = new AbortController();
    const solving = lobpcg(denseOperator(plantedMatrix(size, 8), size), {
      count: 4,
      tolerance: 1e-14,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await expect(solving).rejects.toThrow(/Cancelled/);
  });

  it('converges on a repeated eigenvalue, where Rayleigh-Ritz mixes converged and unconverged vectors', async () => {
    // Six identical diagonal blocks, each the second-difference matrix of order 30 shifted to have its
    // largest eigenvalue near 4: every eigenvalue appears six times.
    const blockOrder = 30;
    const size = 6 * blockOrder;
    const operator: SymmetricOperator = {
      size,
      multiply(block, columns) {
        const result = new Float64Array(size * columns);
        for (let row = 0; row < size; row++) {
          const inBlock = row % blockOrder;
          for (let column = 0; column < columns; column++) {
            const above = inBlock > 0 ? block[(row - 1) * columns + column]! : 0;
            const below = inBlock < blockOrder - 1 ? block[(row + 1) * columns + column]! : 0;
            result[row * columns + column] = 2 * block[row * columns + column]! - above - below;
          }
        }
        return result;
      },
    };
    const result = await lobpcg(operator, { count: 6, blockSize: 8, tolerance: 1e-8, seed: 4, maxIterations: 500 });
    expect(result.converged).toBe(true);
    const top = 2 - 2 * Math.cos((blockOrder * Math.PI) / (blockOrder + 1));
    for (let k = 0; k < 6; k++) expect(result.values[k]).toBeCloseTo(top, 9);
  });

  it('applies the start filter once and still converges to the same eigenpairs', async () => {
    const size = 150;
    const matrix = plantedMatrix(size, 8);
    const operator = denseOperator(matrix, size);
    const calls: number[] = [];
    const filtered = await lobpcg(operator, {
      count: 4,
      seed: 1,
      tolerance: 1e-9,
      filterStart: (block, columns) => {
        calls.push(columns);
        return operator.multiply(block, columns);
      },
    });
    expect(calls).toEqual([6]);
    const dense = symmetricEigen(matrix, size);
    for (let k = 0; k < 4; k++) expect(filtered.values[k]).toBeCloseTo(dense.values[size - 1 - k]!, 10);
  });

  it('falls back to the random start when the filtered start is dependent', async () => {
    const size = 150;
    const matrix = plantedMatrix(size, 8);
    const copyFirstColumn = (block: BlockVectors, columns: number) => {
      const result = Float64Array.from(block);
      for (let row = 0; row < size; row++) for (let column = 1; column < columns; column++) result[row * columns + column] = result[row * columns]!;
      return result;
    };
    const result = await lobpcg(denseOperator(matrix, size), { count: 4, seed: 1, tolerance: 1e-9, filterStart: copyFirstColumn });
    expect(result.converged).toBe(true);
    expect(result.values[0]).toBeCloseTo(symmetricEigen(matrix, size).values[size - 1]!, 10);
  });

  it('solves small orders densely', async () => {
    const matrix = plantedMatrix(12, 2);
    const result = await lobpcg(denseOperator(matrix, 12), { count: 2 });
    const dense = symmetricEigen(matrix, 12);
    expect(result.values[0]).toBeCloseTo(dense.values[11]!, 12);
    expect(result.values[1]).toBeCloseTo(dense.values[10]!, 12);
  });

  it('gives the same eigenpairs with float32 products on the kernel as in float64', async () => {
    // A normalised kNN adjacency of 3000 points: big enough (3000 x 39^2 multiply-adds per Gram product)
    // that the onnxruntime path stores blocks in float32.
    const { data } = blobs(3000, 6, 3, 5);
    const lists = await nearestNeighbors({ data, count: 3000, dims: 6 }, { neighbors: 9, kernel: javascriptKernel() });
    const { operator, sqrtDegrees } = normalizedAdjacency(connectivityAffinity(lists));
    const options = { count: 11, seed: 0, initialVectors: sqrtDegrees, initialColumns: 1 };
    const reference = await lobpcg(operator, options);
    const kernel = await onnxKernel();
    const fast = await lobpcg(operator, { ...options, kernel });
    await kernel.dispose();
    expect(reference.converged && fast.converged).toBe(true);
    for (let k = 0; k < 11; k++) expect(fast.values[k]).toBeCloseTo(reference.values[k]!, 5);
    // Compare subspaces (eigenvalue 1 repeats once per blob): every fast vector lies in the reference span.
    for (let k = 0; k < 11; k++) {
      let captured = 0;
      for (let j = 0; j < 11; j++) {
        let dot = 0;
        for (let row = 0; row < 3000; row++) dot += fast.vectors[row * 11 + k]! * reference.vectors[row * 11 + j]!;
        captured += dot * dot;
      }
      expect(captured).toBeCloseTo(1, 4);
    }
  });
});
