import { describe, expect, it } from 'vitest';
import { kmeans } from '../../../src-main/core/clustering/kmeans';
import { javascriptKernel, onnxKernel } from '../../../src-main/core/clustering/matrix-kernel';
import { adjustedRandIndex } from '../../../src-main/core/metrics/clustering-metrics';
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

  it('stops when cancelled', async () => {
    const { data } = blobs(200, 4, 3, 1);
    const controller = new AbortController();
    controller.abort();
    await expect(kmeans({ data, count: 200, dims: 4 }, { k: 3, signal: controller.signal })).rejects.toThrow(/Cancelled/);
  });
});
