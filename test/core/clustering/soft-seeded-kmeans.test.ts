import { describe, expect, it } from 'vitest';
import { javascriptKernel } from '../../../src-main/core/clustering/matrix-kernel';
import { seededKmeans } from '../../../src-main/core/clustering/seeded-kmeans';
import { softSeededKmeans } from '../../../src-main/core/clustering/soft-seeded-kmeans';

const kernel = javascriptKernel();
const vectors = (points: number[][]) => ({ data: Float32Array.from(points.flat()), count: points.length, dims: points[0]!.length });

describe('softSeededKmeans', () => {
  it('keeps labeled rows in their species and gives each unlabeled row the nearer prototype', async () => {
    const points = [[0, 0], [0.2, 0], [0, 0.2], [5, 5], [5.2, 5], [5, 5.2]];
    const seeds = Int32Array.from([0, -1, -1, 1, -1, -1]);
    const { labels, confidence, distances } = await softSeededKmeans(vectors(points), { seeds, kernel });
    expect(Array.from(labels)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(confidence[0]).toBe(1);
    expect(confidence[1]).toBeGreaterThan(0.99);
    // Prototype of species 0 is the mean of its three rows, (0.0667, 0.0667).
    expect(distances[0]).toBeCloseTo(Math.hypot(0.2 / 3, 0.2 / 3), 5);
  });

  it('moves prototypes towards their unlabeled images, so a row nearer the other labeled image can follow', async () => {
    // Species A labeled at x = 0 with unlabeled images at 1.6..2.9; species B labeled at 4 with images at 5..6.
    // x = 2.9 is nearer B's labeled image (1.1 vs 2.9), but A's refined prototype (about 1.66) is nearer than
    // B's (about 5.1), so refinement gives it to A; without prototype updates it goes to B.
    const xs = [0, 1.6, 1.8, 2.0, 2.9, 4, 5, 5.5, 6];
    const seeds = Int32Array.from([0, -1, -1, -1, -1, 1, -1, -1, -1]);
    const refined = await softSeededKmeans(vectors(xs.map((x) => [x])), { seeds, temperature: 0.1, kernel });
    expect(Array.from(refined.labels)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1]);
    const nearestLabeled = await softSeededKmeans(vectors(xs.map((x) => [x])), { seeds, temperature: 0.1, iterations: 0, kernel });
    expect(Array.from(nearestLabeled.labels)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 1]);
  });

  it('asks every cluster for the same share of unlabeled rows only when balanced', async () => {
    // Three unlabeled rows sit just nearer species 0; unbalanced, species 0 takes them all; balanced, the
    // farthest of them (0.9, nearest to species 1's prototype at 2) goes to species 1.
    const xs = [0, 0.6, 0.8, 0.9, 2];
    const seeds = Int32Array.from([0, -1, -1, -1, 1]);
    const free = await softSeededKmeans(vectors(xs.map((x) => [x])), { seeds, temperature: 0.05, kernel });
    expect(Array.from(free.labels)).toEqual([0, 0, 0, 0, 1]);
    const balanced = await softSeededKmeans(vectors(xs.map((x) => [x])), { seeds, temperature: 0.05, balanced: true, kernel });
    expect(Array.from(balanced.labels)).toEqual([0, 0, 0, 1, 1]);
  });

  it('opens extra clusters for unlabeled species far from every prototype', async () => {
    const points = [[0, 0], [0.1, 0], [3, 0], [3.1, 0], [0, 6], [0.1, 6], [0, 6.1]];
    const seeds = Int32Array.from([0, -1, 1, -1, -1, -1, -1]);
    const { labels } = await softSeededKmeans(vectors(points), { seeds, k: 3, kernel });
    expect(Array.from(labels)).toEqual([0, 0, 1, 1, 2, 2, 2]);
  });

  it('is close to hard seeded K-means at a small temperature', async () => {
    const points = [[0, 0], [0.3, 0.1], [1, 1], [1.2, 0.9], [0.6, 0.5], [2, 2]];
    const seeds = Int32Array.from([0, -1, 1, -1, -1, -1]);
    const soft = await softSeededKmeans(vectors(points), { seeds, temperature: 1e-4, kernel });
    const hard = await seededKmeans(vectors(points), { k: 2, seeds, kernel });
    expect(Array.from(soft.labels)).toEqual(Array.from(hard.labels));
  });

  it('refuses unusable settings', async () => {
    const data = vectors([[0], [1]]);
    await expect(softSeededKmeans(data, { seeds: Int32Array.from([-1, -1]), kernel })).rejects.toThrow(/at least one labeled/);
    await expect(softSeededKmeans(data, { seeds: Int32Array.from([0, 1]), k: 1, kernel })).rejects.toThrow(/at least the number/);
    await expect(softSeededKmeans(data, { seeds: Int32Array.from([0, -1]), temperature: 0, kernel })).rejects.toThrow(/positive/);
  });
});
