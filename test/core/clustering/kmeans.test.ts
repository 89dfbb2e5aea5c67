import { describe, expect, it } from 'vitest';
import { gramMatrix, kmeans, kmeansPlusPlus } from '../../../src-main/core/clustering/kmeans';
import { javascriptKernel, onnxKernel } from '../../../src-main/core/clustering/matrix-kernel';
import { adjustedRandIndex } from '../../../src-main/core/metrics/clustering-metrics';
import { deriveSeed, seededRandom } from '../../../src-main/core/util/random';
import { squaredRowNorms } from '../../../src-main/core/util/rows';
import { blobs } from '../../helpers/fixtures';

describe('matrix kernels', () => {
  it('onnxruntime Gemm equals the JavaScript reference', async () => {
    const a = Float32Array.from({ length: 37 * 19 }, (_, index) => Math.sin(index));
    const b = Float32Array.from({ length: 5 * 19 }, (_, index) => Math.cos(index * 0.7));
    const fast = await onnxKernel(1);
    const expected = await javascriptKernel().multiplyTransposed(a, 37, b, 5, 19);
    const actual = await fast.multiplyTransposed(a, 37, b, 5, 19);
    await fast.dispose();
    expect(actual.length).toBe(37 * 5);
    for (let index = 0; index < actual.length; index++) expect(actual[index]).toBeCloseTo(expected[index]!, 4);
  });
});

describe('smallestTwo', () => {
  it('onnxruntime returns the same two smallest entries of product plus bias as the JavaScript reference', async () => {
    const a = Float32Array.from({ length: 53 * 23 }, (_, index) => Math.sin(index * 1.3));
    const b = Float32Array.from({ length: 9 * 23 }, (_, index) => Math.cos(index * 0.37));
    const bias = Float32Array.from({ length: 9 }, (_, index) => 0.25 * index - 1);
    const fast = await onnxKernel(1);
    const expected = await javascriptKernel().smallestTwo!(a, 53, b, 9, 23, bias);
    const actual = await fast.smallestTwo!(a, 53, b, 9, 23, bias);
    await fast.dispose();
    const products = await javascriptKernel().multiplyTransposed(a, 53, b, 9, 23);
    for (let row = 0; row < 53; row++) {
      // The reference itself, checked by sorting the row.
      const sorted = Array.from({ length: 9 }, (_, column) => [products[row * 9 + column]! + bias[column]!, column] as const).sort((x, y) => x[0] - y[0]);
      expect([expected.columns[row * 2], expected.columns[row * 2 + 1]]).toEqual([sorted[0]![1], sorted[1]![1]]);
      expect(Array.from(actual.columns.subarray(row * 2, row * 2 + 2))).toEqual(Array.from(expected.columns.subarray(row * 2, row * 2 + 2)));
      expect(actual.values[row * 2]).toBeCloseTo(expected.values[row * 2]!, 4);
      expect(actual.values[row * 2 + 1]).toBeCloseTo(expected.values[row * 2 + 1]!, 4);
    }
  });
});

describe('kmeans', () => {
  it('clusters two obvious groups exactly, with distances to the centers', async () => {
    const data = Float32Array.from([0, 0, 0, 1, 1, 0, 10, 10, 10, 11, 11, 10]);
    const result = await kmeans({ data, count: 6, dims: 2 }, { k: 2, seed: 1, kernel: javascriptKernel() });
    expect(result.labels[0]).toBe(result.labels[1]);
    expect(result.labels[1]).toBe(result.labels[2]);
    expect(result.labels[3]).toBe(result.labels[4]);
    expect(result.labels[0]).not.toBe(result.labels[3]);
    // Center of the first group is (1/3, 1/3): the point (0, 0) is sqrt(2)/3 from it.
    expect(result.distances[0]).toBeCloseTo(Math.SQRT2 / 3, 5);
    expect(result.inertia).toBeCloseTo(4 * (1 / 9 + 4 / 9) + 2 * (2 / 9), 4);
  });

  it('recovers well separated blobs and is reproducible for a seed', async () => {
    const { data, labels } = blobs(600, 16, 6, 3);
    const first = await kmeans({ data, count: 600, dims: 16 }, { k: 6, seed: 42, restarts: 3 });
    const second = await kmeans({ data, count: 600, dims: 16 }, { k: 6, seed: 42, restarts: 3 });
    expect(adjustedRandIndex(labels, first.labels)).toBeGreaterThan(0.99);
    expect(Array.from(second.labels)).toEqual(Array.from(first.labels));
  });

  it('gives the same clusters on the fast and the reference kernel', async () => {
    const { data } = blobs(300, 8, 4, 9);
    const fast = await kmeans({ data, count: 300, dims: 8 }, { k: 4, seed: 5, restarts: 2 });
    const reference = await kmeans({ data, count: 300, dims: 8 }, { k: 4, seed: 5, restarts: 2, kernel: javascriptKernel() });
    expect(adjustedRandIndex(Array.from(reference.labels), Array.from(fast.labels))).toBe(1);
    expect(fast.inertia).toBeCloseTo(reference.inertia, 0);
  });

  it('keeps every cluster non-empty even when k equals the number of points', async () => {
    const data = Float32Array.from([0, 0, 0, 0.1, 5, 5, 5, 5.1]);
    for (const seed of [0, 1, 2, 3]) {
      const result = await kmeans({ data, count: 4, dims: 2 }, { k: 4, seed, kernel: javascriptKernel() });
      expect(new Set(result.labels).size).toBe(4);
      expect(result.inertia).toBeCloseTo(0, 6);
    }
  });

  it('rejects impossible k with a message that says what to do', async () => {
    const data = new Float32Array(4);
    await expect(kmeans({ data, count: 2, dims: 2 }, { k: 3 })).rejects.toThrow(/at most 2/);
    await expect(kmeans({ data, count: 2, dims: 2 }, { k: 0 })).rejects.toThrow(/at least 1/);
  });

  /** Seeded uniform points in [0, 1)^dims: no cluster structure, so k-means has many local optima. */
  const uniform = (count: number, dims: number, seed: number) => {
    const random = seededRandom(seed);
    return Float32Array.from({ length: count * dims }, () => random());
  };

  /** Checks a Lloyd fixed point exactly: every label is its row's nearest center, every center its members' mean. */
  const expectFixedPoint = (data: Float32Array, count: number, dims: number, k: number, result: Awaited<ReturnType<typeof kmeans>>) => {
    const sums = new Float64Array(k * dims);
    const sizes = new Int32Array(k);
    for (let row = 0; row < count; row++) {
      const squared = (center: number) => {
        let sum = 0;
        for (let index = 0; index < dims; index++) sum += (data[row * dims + index]! - result.centers[center * dims + index]!) ** 2;
        return sum;
      };
      const own = squared(result.labels[row]!);
      for (let center = 0; center < k; center++) expect(own).toBeLessThanOrEqual(squared(center) + 1e-5);
      expect(result.distances[row]).toBeCloseTo(Math.sqrt(own), 4);
      const label = result.labels[row]!;
      sizes[label] = sizes[label]! + 1;
      for (let index = 0; index < dims; index++) sums[label * dims + index] = sums[label * dims + index]! + data[row * dims + index]!;
    }
    for (let center = 0; center < k; center++) {
      expect(sizes[center]).toBeGreaterThan(0);
      for (let index = 0; index < dims; index++) expect(result.centers[center * dims + index]).toBeCloseTo(sums[center * dims + index]! / sizes[center]!, 4);
    }
  };

  it('seeds from a row sample and still ends at a Lloyd fixed point on every row, the same for a seed', async () => {
    const data = uniform(3000, 4, 11);
    const options = { k: 5, seed: 2, restarts: 2, tolerance: 0, seedSampleRows: 200 };
    const result = await kmeans({ data, count: 3000, dims: 4 }, options);
    expect(result.labels.length).toBe(3000);
    expectFixedPoint(data, 3000, 4, 5, result);
    const again = await kmeans({ data, count: 3000, dims: 4 }, options);
    expect(Array.from(again.labels)).toEqual(Array.from(result.labels));
  });

  it('finds well separated blobs when seeded from a sample of a tenth of the rows', async () => {
    const { data, labels } = blobs(2000, 16, 8, 4);
    const result = await kmeans({ data, count: 2000, dims: 16 }, { k: 8, seed: 3, restarts: 3, seedSampleRows: 200 });
    expect(adjustedRandIndex(labels, result.labels)).toBeGreaterThan(0.99);
  });

  it('never returns a worse restart than the first, with hopeless restarts abandoned', async () => {
    // Restart 0 has the same seed whatever the number of restarts, and always runs to the end.
    const data = uniform(1500, 6, 5);
    const vectors = { data, count: 1500, dims: 6 };
    const single = await kmeans(vectors, { k: 12, seed: 7, restarts: 1, tolerance: 0 });
    const messages: string[] = [];
    const several = await kmeans(vectors, { k: 12, seed: 7, restarts: 8, tolerance: 0, onProgress: ({ message }) => messages.push(message) });
    expect(messages.some((message) => message.includes('abandoned'))).toBe(true);
    expect(several.inertia).toBeLessThanOrEqual(single.inertia);
    expectFixedPoint(data, 1500, 6, 12, several);
  });

  it('ends at an exact Lloyd fixed point when ranking with 8-bit products, on either kernel', async () => {
    // Uniform points: many rows lie near a tie between two centers, where rounding could pick the wrong one.
    const data = uniform(1200, 24, 9);
    for (const kernel of [javascriptKernel(), await onnxKernel(1)]) {
      const result = await kmeans({ data, count: 1200, dims: 24 }, { k: 9, seed: 4, restarts: 2, tolerance: 0, quantize: true, kernel });
      expectFixedPoint(data, 1200, 24, 9, result);
      await kernel.dispose();
    }
  });

  it('recovers blobs with 8-bit products as it does with float32 ones', async () => {
    const { data, labels } = blobs(1500, 32, 12, 8);
    const vectors = { data, count: 1500, dims: 32 };
    const quantized = await kmeans(vectors, { k: 12, seed: 5, restarts: 3, quantize: true });
    const float = await kmeans(vectors, { k: 12, seed: 5, restarts: 3, quantize: false });
    expect(adjustedRandIndex(labels, quantized.labels)).toBeGreaterThan(0.99);
    expect(quantized.inertia).toBeLessThanOrEqual(float.inertia * 1.001);
  });

  it('ends at an exact Lloyd fixed point when the 8-bit passes stop settling', async () => {
    // Uniform points in 16 dimensions: rows near ties keep flipping with the rounding, so the approximate
    // passes end because their changes stop falling, not because few labels change.
    const data = uniform(3000, 16, 12);
    const result = await kmeans({ data, count: 3000, dims: 16 }, { k: 24, seed: 6, restarts: 2, tolerance: 0, quantize: true });
    expectFixedPoint(data, 3000, 16, 24, result);
  });

  it('refills clusters left empty by coincident seeds and still ends with zero inertia', async () => {
    // Two distinct points, three clusters: the third seed repeats one of them, and its cluster loses every
    // row to the tie, so it takes the farthest row, again and again.
    const data = Float32Array.from([0, 0, 0, 0, 0, 0, 5, 5, 5, 5, 5, 5]);
    for (const seed of [0, 1, 2, 3]) {
      const result = await kmeans({ data, count: 6, dims: 2 }, { k: 3, seed, restarts: 2, kernel: javascriptKernel() });
      expect(result.labels[0]).toBe(result.labels[2]);
      expect(result.labels[3]).toBe(result.labels[5]);
      expect(result.labels[0]).not.toBe(result.labels[3]);
      expect(result.inertia).toBe(0);
      expect(Array.from(result.centers).every(Number.isFinite)).toBe(true);
    }
  });

  it('stops when cancelled', async () => {
    const { data } = blobs(200, 4, 3, 1);
    const controller = new AbortController();
    controller.abort();
    await expect(kmeans({ data, count: 200, dims: 4 }, { k: 3, signal: controller.signal })).rejects.toThrow(/Cancelled/);
  });
});

describe('k-means++ seeding', () => {
  /** Seeded uniform points in [-1, 1)^dims. */
  const points = (count: number, dims: number, seed: number) => {
    const random = seededRandom(seed);
    return Float32Array.from({ length: count * dims }, () => 2 * random() - 1);
  };

  it('holds every product of two rows in the Gram matrix, exactly symmetric', async () => {
    // More rows than one block of products (512) and not a whole number of copy tiles (64).
    const count = 1100;
    const dims = 5;
    const data = points(count, dims, 3);
    const gram = await gramMatrix({ data, count, dims }, javascriptKernel(), undefined);
    expect(gram.length).toBe(count * count);
    for (let a = 0; a < count; a += 37) {
      for (let b = 0; b < count; b += 11) {
        let product = 0;
        for (let index = 0; index < dims; index++) product += data[a * dims + index]! * data[b * dims + index]!;
        expect(gram[a * count + b]).toBeCloseTo(product, 5);
        expect(gram[a * count + b]).toBe(gram[b * count + a]);
      }
    }
  });

  it('picks the same seeds through the Gram matrix as by measuring the candidates against every row', async () => {
    // The JavaScript kernel sums each product in the same order either way, so the seeds agree exactly.
    const count = 700;
    const dims = 6;
    const data = points(count, dims, 8);
    const vectors = { data, count, dims };
    const norms = squaredRowNorms(data, count, dims);
    const kernel = javascriptKernel();
    const randoms = () => [0, 1, 2].map((run) => seededRandom(deriveSeed(5, run)));
    const measured = await kmeansPlusPlus(vectors, norms, 12, randoms(), kernel, undefined);
    const gram = await gramMatrix(vectors, kernel, undefined);
    const throughGram = await kmeansPlusPlus(vectors, norms, 12, randoms(), kernel, undefined, gram);
    expect(throughGram.map((centers) => Array.from(centers))).toEqual(measured.map((centers) => Array.from(centers)));
  });
});
