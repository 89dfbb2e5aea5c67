import { describe, expect, it } from 'vitest';
import { knnGraph, nearestNeighbors } from '../../../src-main/core/clustering/knn-graph';
import { partitionedNeighbors } from '../../../src-main/core/clustering/partitioned-knn';
import { seededRandom } from '../../../src-main/core/util/random';

/**
 * Overlapping Gaussian clusters: centres N(0, 0.5^2) per dimension, unit noise, so in 48 dimensions a
 * point's nearest neighbours often lie in other clusters (like the benchmark's 1024-d blobs), which a
 * partition by cluster alone does not find.
 */
function overlappingClusters(count: number, dims: number, clusters: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Float32Array.from({ length: clusters * dims }, () => 0.5 * normal());
  const data = new Float32Array(count * dims);
  for (let row = 0; row < count; row++) {
    const cluster = Math.floor(random() * clusters);
    for (let index = 0; index < dims; index++) data[row * dims + index] = centres[cluster * dims + index]! + normal();
  }
  return data;
}

/** Fraction of the exact lists' entries that the approximate lists also hold, over every point. */
function fullRecall(exact: Int32Array, approximate: Int32Array, count: number, neighbors: number): number {
  let found = 0;
  for (let point = 0; point < count; point++) {
    const listed = new Set(approximate.subarray(point * neighbors, (point + 1) * neighbors));
    for (let slot = 0; slot < neighbors; slot++) if (listed.has(exact[point * neighbors + slot]!)) found++;
  }
  return found / (count * neighbors);
}

describe('partitioned nearest neighbours', () => {
  const count = 5000;
  const dims = 48;
  const data = overlappingClusters(count, dims, 40, 7);
  const vectors = { data, count, dims };

  it('reaches the target recall on 5,000 points and measures it honestly', async () => {
    const exact = await nearestNeighbors(vectors, { neighbors: 9 });
    // Data this hard needs more than the default half of the exact search's work for recall 0.95.
    const lists = await partitionedNeighbors(vectors, { neighbors: 9, pointsPerList: 100, maxWorkFraction: 1, seed: 3 });
    const recall = fullRecall(exact.indices, lists.indices, count, 9);
    expect(lists.recall).toBeGreaterThanOrEqual(0.95);
    expect(recall).toBeGreaterThanOrEqual(0.95);
    // The sample of 256 queries (2,304 neighbours) estimates the recall over all 45,000 within a few percent.
    expect(Math.abs(lists.recall - recall)).toBeLessThan(0.03);
    // Cheaper than the exact search: it is the point of the method.
    expect(lists.workFraction).toBeLessThan(1);
    expect(lists.lists).toBe(50);
    // Found distances are the true ones, each list sorted and free of the point itself and of repeats.
    for (let point = 0; point < count; point += 97) {
      const row = Array.from(lists.indices.subarray(point * 9, point * 9 + 9));
      expect(new Set(row).size).toBe(9);
      expect(row).not.toContain(point);
      for (let slot = 0; slot < 9; slot++) {
        let sum = 0;
        for (let index = 0; index < dims; index++) sum += (data[point * dims + index]! - data[row[slot]! * dims + index]!) ** 2;
        expect(lists.squaredDistances[point * 9 + slot]!).toBeCloseTo(sum, 2);
        if (slot > 0) expect(lists.squaredDistances[point * 9 + slot]!).toBeGreaterThanOrEqual(lists.squaredDistances[point * 9 + slot - 1]!);
      }
    }
  });

  it('finds nearly the same neighbours with 8-bit integer products, its recall still measured against float32', async () => {
    const exact = await nearestNeighbors(vectors, { neighbors: 9 });
    const options = { neighbors: 9, pointsPerList: 100, maxWorkFraction: 1, seed: 3 };
    const float = await partitionedNeighbors(vectors, options);
    const integer = await partitionedNeighbors(vectors, { ...options, quantize: true });
    const recall = fullRecall(exact.indices, integer.indices, count, 9);
    expect(integer.recall).toBeGreaterThanOrEqual(0.95);
    expect(Math.abs(integer.recall - recall)).toBeLessThan(0.03);
    // Rounding moves only near ties for the last places.
    expect(recall).toBeGreaterThan(fullRecall(exact.indices, float.indices, count, 9) - 0.02);
    // Distances are those of the rounded vectors: within about 1% of the true ones.
    for (let point = 0; point < count; point += 97) {
      for (let slot = 0; slot < 9; slot++) {
        const other = integer.indices[point * 9 + slot]!;
        let sum = 0;
        for (let index = 0; index < dims; index++) sum += (data[point * dims + index]! - data[other * dims + index]!) ** 2;
        expect(Math.abs(integer.squaredDistances[point * 9 + slot]! - sum)).toBeLessThan(0.02 * sum);
      }
    }
  });

  it('reports a low recall when a single probe is allowed, and more probes raise it', async () => {
    const exact = await nearestNeighbors(vectors, { neighbors: 9 });
    const one = await partitionedNeighbors(vectors, { neighbors: 9, pointsPerList: 100, probes: 1, targetRecall: 0, seed: 3 });
    expect(one.probes).toBe(1);
    const recall = fullRecall(exact.indices, one.indices, count, 9);
    expect(recall).toBeLessThan(0.9);
    expect(Math.abs(one.recall - recall)).toBeLessThan(0.05);
    const doubled = await partitionedNeighbors(vectors, { neighbors: 9, pointsPerList: 100, probes: 1, targetRecall: 0.99, maxWorkFraction: 2, seed: 3 });
    expect(doubled.probes).toBeGreaterThan(1);
    expect(doubled.recall).toBeGreaterThanOrEqual(0.99);
  });

  it('is reproducible for a seed, reports progress and stops when cancelled', async () => {
    const fractions: number[] = [];
    const first = await partitionedNeighbors(vectors, { neighbors: 5, pointsPerList: 200, seed: 1, onProgress: (progress) => fractions.push(progress.fraction) });
    const second = await partitionedNeighbors(vectors, { neighbors: 5, pointsPerList: 200, seed: 1 });
    expect(Array.from(second.indices)).toEqual(Array.from(first.indices));
    expect(fractions.length).toBeGreaterThan(5);
    for (const fraction of fractions) expect(fraction).toBeGreaterThanOrEqual(0), expect(fraction).toBeLessThanOrEqual(1);
    const controller = new AbortController();
    const run = partitionedNeighbors(vectors, {
      neighbors: 5,
      pointsPerList: 200,
      onProgress: (progress) => {
        if (progress.fraction > 0.2) controller.abort();
      },
      signal: controller.signal,
    });
    await expect(run).rejects.toThrow(/Cancelled/);
  });

  it('is what knnGraph uses above approximateAbove, with the recall in its report', async () => {
    const exact = await knnGraph(vectors, { neighbors: 10 });
    expect(exact.search).toEqual({ method: 'exact', recall: 1, sampledQueries: 0 });
    expect(exact.partition).toBeUndefined();
    const approximate = await knnGraph(vectors, { neighbors: 10, approximateAbove: 1000 });
    expect(approximate.search.method).toBe('partitioned');
    expect(approximate.search.recall).toBeGreaterThanOrEqual(0.95);
    expect(approximate.search.sampledQueries).toBe(256);
    expect(approximate.partition!.labels.length).toBe(count);
    expect(approximate.affinity.size).toBe(count);
  });

  it('falls back to the exact graph when the target recall would cost more than half the exact search', async () => {
    // Recall above 1 can never be reached: the search stops at its work budget and knnGraph searches exactly.
    const stopped = await partitionedNeighbors(vectors, { neighbors: 9, pointsPerList: 100, targetRecall: 1.01, seed: 3 });
    expect(stopped.probes).toBeLessThan(stopped.lists);
    expect(stopped.workFraction).toBeLessThan(0.75);
    const graph = await knnGraph(vectors, { neighbors: 10, approximateAbove: 1000, targetRecall: 1.01 });
    expect(graph.search).toEqual({ method: 'exact', recall: 1, sampledQueries: 0 });
    const exact = await knnGraph(vectors, { neighbors: 10 });
    expect(Array.from(graph.affinity.columns)).toEqual(Array.from(exact.affinity.columns));
  });
});
