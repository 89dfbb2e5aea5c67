import { describe, expect, it } from 'vitest';
import references from '../../fixtures/spectral-references.json';
import { connectivityAffinity, knnAffinity, nearestNeighbors, permuteSymmetric } from '../../../src-main/core/clustering/knn-graph';
import { javascriptKernel, onnxKernel } from '../../../src-main/core/clustering/matrix-kernel';
import { seededRandom } from '../../../src-main/core/util/random';

/** Brute-force float64 neighbours, sorted by distance then index: the independent reference. */
function bruteForce(data: Float32Array, count: number, dims: number, neighbors: number): number[][] {
  return Array.from({ length: count }, (_, row) => {
    const distances: [number, number][] = [];
    for (let other = 0; other < count; other++) {
      if (other === row) continue;
      let sum = 0;
      for (let index = 0; index < dims; index++) sum += (data[row * dims + index]! - data[other * dims + index]!) ** 2;
      distances.push([sum, other]);
    }
    distances.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    return distances.slice(0, neighbors).map(([, other]) => other);
  });
}

describe('exact nearest neighbours', () => {
  it('finds the neighbours of four points on a line', async () => {
    const lists = await nearestNeighbors({ data: Float32Array.of(0, 1, 5, 7), count: 4, dims: 1 }, { neighbors: 1, kernel: javascriptKernel() });
    expect(Array.from(lists.indices)).toEqual([1, 0, 3, 2]);
    expect(Array.from(lists.squaredDistances)).toEqual([1, 1, 4, 4]);
  });

  it('matches brute force on random data, with several row blocks, on both kernels', async () => {
    const random = seededRandom(4);
    const count = 300;
    const dims = 7;
    // An offset far from the origin checks that centring keeps float32 products exact enough.
    const data = Float32Array.from({ length: count * dims }, () => 100 + random());
    const expected = bruteForce(data, count, dims, 5);
    const fast = await onnxKernel(1);
    for (const kernel of [javascriptKernel(), fast]) {
      const lists = await nearestNeighbors({ data, count, dims }, { neighbors: 5, kernel, rowsPerBlock: 64 });
      const actual = Array.from({ length: count }, (_, row) => Array.from(lists.indices.subarray(row * 5, row * 5 + 5)));
      expect(actual).toEqual(expected);
      for (let index = 1; index < lists.squaredDistances.length; index++) {
        if (index % 5 !== 0) expect(lists.squaredDistances[index]!).toBeGreaterThanOrEqual(lists.squaredDistances[index - 1]!);
      }
    }
    await fast.dispose();
  });

  it('rejects impossible neighbour counts and stops when cancelled', async () => {
    const vectors = { data: new Float32Array(6), count: 3, dims: 2 };
    await expect(nearestNeighbors(vectors, { neighbors: 3 })).rejects.toThrow(/between 1 and 2/);
    const controller = new AbortController();
    controller.abort();
    await expect(nearestNeighbors(vectors, { neighbors: 1, signal: controller.signal })).rejects.toThrow(/Cancelled/);
  });
});

describe('connectivity affinity', () => {
  it('symmetrises 0.5 (A + A^T) with the diagonal, merging mutual pairs', () => {
    // 0 -> 1, 1 -> 0 (mutual), 2 -> 1 (one way).
    const affinity = connectivityAffinity({ count: 3, neighbors: 1, indices: Int32Array.of(1, 0, 1), squaredDistances: new Float32Array(3) });
    expect(Array.from(affinity.rowStart)).toEqual([0, 2, 5, 7]);
    expect(Array.from(affinity.columns)).toEqual([0, 1, 0, 1, 2, 1, 2]);
    expect(Array.from(affinity.values)).toEqual([1, 1, 1, 1, 0.5, 0.5, 1]);
  });

  it('renumbers a sparse matrix as P A P^T, each row still ascending', () => {
    // 0 -> 1, 1 -> 0 (mutual), 2 -> 1 (one way), as above; renumbered so old 2 is 0, old 0 is 1, old 1 is 2.
    const affinity = connectivityAffinity({ count: 3, neighbors: 1, indices: Int32Array.of(1, 0, 1), squaredDistances: new Float32Array(3) });
    const permuted = permuteSymmetric(affinity, Int32Array.of(2, 0, 1));
    const dense = (matrix: typeof affinity) => {
      const entries = Array.from({ length: 9 }, () => 0);
      for (let row = 0; row < 3; row++) {
        for (let entry = matrix.rowStart[row]!; entry < matrix.rowStart[row + 1]!; entry++) entries[row * 3 + matrix.columns[entry]!] = matrix.values[entry]!;
      }
      return entries;
    };
    const original = dense(affinity);
    const order = [2, 0, 1];
    expect(dense(permuted)).toEqual(Array.from({ length: 9 }, (_, index) => original[order[Math.floor(index / 3)]! * 3 + order[index % 3]!]));
    for (let row = 0; row < 3; row++) {
      const columns = Array.from(permuted.columns.subarray(permuted.rowStart[row], permuted.rowStart[row + 1]));
      expect(columns).toEqual([...columns].sort((a, b) => a - b));
    }
  });

  // Reference: scikit-learn 1.2.1's kneighbors_graph(include_self=True) and 0.5 (C + C^T) on the fixture
  // data, from test/fixtures/spectral-references.py.
  it("equals scikit-learn's nearest_neighbors affinity on the reference data", async () => {
    const vectors = { data: Float32Array.from(references.data), count: references.count, dims: references.dims };
    const affinity = await knnAffinity(vectors, { neighbors: references.neighbors, kernel: javascriptKernel() });
    expect(affinity.columns.length).toBe(references.affinityNonZeros);
    expect(affinity.values.reduce((sum, value) => sum + value, 0)).toBe(references.affinitySum);
    expect(affinity.values.filter((value) => value === 1).length).toBe(references.affinityMutualPairs);
    const lists = await nearestNeighbors(vectors, { neighbors: references.neighbors - 1, kernel: javascriptKernel() });
    references.firstNeighbors.forEach((expected, row) => {
      const actual = [row, ...lists.indices.subarray(row * 9, row * 9 + 9)].sort((a, b) => a - b);
      expect(actual).toEqual(expected);
    });
  });
});
