import { describe, expect, it } from 'vitest';
import { silhouetteK, stabilityK } from '../../../src-main/core/clustering/k-criteria';
import { kmeans } from '../../../src-main/core/clustering/kmeans';
import { silhouetteScore } from '../../../src-main/core/metrics/silhouette';
import type { Progress } from '../../../src-main/core/util/progress';
import { blobs } from '../../helpers/fixtures';

describe('choosing k by silhouette and by stability', () => {
  const { data } = blobs(300, 6, 5, 17);
  const vectors = { data, count: 300, dims: 6 };

  it('silhouette peaks at the number of separated blobs, with the value at every k', async () => {
    const result = await silhouetteK(vectors, { minK: 2, maxK: 8, seed: 1 });
    expect(result.ks).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(result.values.length).toBe(7);
    expect(result.k).toBe(5);
    // Each value is the silhouette of that k's K-means partition (same seed and restarts).
    const five = await kmeans(vectors, { k: 5, seed: 1, restarts: 3 });
    expect(result.values[3]).toBeCloseTo(await silhouetteScore(vectors, five.labels), 6);
    for (const value of result.values) expect(Math.abs(value)).toBeLessThanOrEqual(1);
  });

  it('silhouette on a sample gives nearly the full value', async () => {
    const full = await silhouetteK(vectors, { minK: 4, maxK: 6, seed: 2 });
    const sampled = await silhouetteK(vectors, { minK: 4, maxK: 6, seed: 2, sampleSize: 150 });
    expect(sampled.k).toBe(full.k);
    sampled.values.forEach((value, index) => expect(Math.abs(value - full.values[index]!)).toBeLessThan(0.05));
  });

  it('stability is 1 at the true k and lower when a blob must be split arbitrarily', async () => {
    const result = await stabilityK(vectors, { minK: 2, maxK: 7, seed: 3, runs: 4 });
    expect(result.ks).toEqual([2, 3, 4, 5, 6, 7]);
    expect(result.k).toBe(5);
    expect(result.values[3]).toBeCloseTo(1, 9);
    expect(result.values[4]).toBeLessThan(0.99);
    expect(result.values[5]).toBeLessThan(0.99);
  });

  it('stability of structureless data stays below 1 everywhere', async () => {
    let state = 12345;
    const uniform = Float32Array.from({ length: 400 * 4 }, () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296));
    const result = await stabilityK({ data: uniform, count: 400, dims: 4 }, { minK: 3, maxK: 6, seed: 0, runs: 3 });
    for (const value of result.values) expect(value).toBeLessThan(0.99);
  });

  it('reports progress, stops when cancelled, and rejects a range it cannot try', async () => {
    const seen: Progress[] = [];
    await stabilityK(vectors, { minK: 2, maxK: 3, runs: 2, onProgress: (progress) => seen.push(progress) });
    expect(seen.at(-1)!.fraction).toBe(1);
    const controller = new AbortController();
    controller.abort();
    await expect(silhouetteK(vectors, { signal: controller.signal })).rejects.toThrow(/Cancelled/);
    await expect(silhouetteK({ data: new Float32Array(2), count: 2, dims: 1 }, {})).rejects.toThrow(/smaller range/);
  });
});
