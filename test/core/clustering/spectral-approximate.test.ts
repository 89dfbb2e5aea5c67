import { describe, expect, it } from 'vitest';
import { knnAffinity } from '../../../src-main/core/clustering/knn-graph';
import { coarseStart, normalizedAdjacency, spectralClustering } from '../../../src-main/core/clustering/spectral';
import { adjustedRandIndex } from '../../../src-main/core/metrics/clustering-metrics';
import { seededRandom } from '../../../src-main/core/util/random';
import { blobs } from '../../helpers/fixtures';

/** Overlapping Gaussian clusters (centres N(0, spread^2), unit noise) with their labels. */
function overlappingClusters(count: number, dims: number, clusters: number, spread: number, seed: number): { data: Float32Array; labels: Int32Array } {
  const random = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Float32Array.from({ length: clusters * dims }, () => spread * normal());
  const data = new Float32Array(count * dims);
  const labels = new Int32Array(count);
  for (let row = 0; row < count; row++) {
    labels[row] = Math.floor(random() * clusters);
    for (let index = 0; index < dims; index++) data[row * dims + index] = centres[labels[row]! * dims + index]! + normal();
  }
  return { data, labels };
}

describe('spectral clustering on the approximate graph', () => {
  it('gives the exact graph\'s clusters within 0.01 ARI on 6,000 overlapping points', async () => {
    const { data, labels } = overlappingClusters(6000, 32, 20, 0.6, 5);
    const vectors = { data, count: 6000, dims: 32 };
    const exact = await spectralClustering(vectors, { k: 20, seed: 0 });
    const approximate = await spectralClustering(vectors, { k: 20, seed: 0, approximateAbove: 1000 });
    expect(exact.neighborSearch.method).toBe('exact');
    expect(approximate.neighborSearch.method).toBe('partitioned');
    expect(approximate.neighborSearch.recall).toBeGreaterThanOrEqual(0.8);
    expect(approximate.converged).toBe(true);
    const exactAri = adjustedRandIndex(labels, exact.labels);
    const approximateAri = adjustedRandIndex(labels, approximate.labels);
    // Hard enough that the answer is not trivially perfect.
    expect(exactAri).toBeLessThan(0.99);
    expect(exactAri).toBeGreaterThan(0.5);
    expect(Math.abs(approximateAri - exactAri)).toBeLessThan(0.01);
    expect(adjustedRandIndex(exact.labels, approximate.labels)).toBeGreaterThan(0.95);
  });

  it('starts from the exact eigenvectors when the partition lists are the connected components', async () => {
    // Five far-apart blobs: five components, and M = D^-1/2 A D^-1/2 has eigenvalue 1 five times, with
    // eigenvectors D^1/2 (indicator of a component). Lists equal to the components give exactly those.
    const { data, labels } = blobs(500, 6, 5, 11);
    const affinity = await knnAffinity({ data, count: 500, dims: 6 }, { neighbors: 10 });
    const { operator, sqrtDegrees } = normalizedAdjacency(affinity);
    const start = coarseStart(affinity, sqrtDegrees, Int32Array.from(labels), 5, 8);
    expect(start.columns).toBe(5);
    const image = operator.multiply(start.vectors, 5);
    for (let column = 0; column < 5; column++) {
      let norm = 0;
      let residual = 0;
      for (let row = 0; row < 500; row++) {
        norm += start.vectors[row * 5 + column]! ** 2;
        residual += (image[row * 5 + column]! - start.vectors[row * 5 + column]!) ** 2;
      }
      expect(norm).toBeGreaterThan(0);
      expect(Math.sqrt(residual / norm)).toBeLessThan(1e-9);
    }
  });
});
