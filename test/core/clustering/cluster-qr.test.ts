import { describe, expect, it } from 'vitest';
import references from '../../fixtures/spectral-references.json';
import { clusterQr } from '../../../src-main/core/clustering/cluster-qr';
import { multiply } from '../../../src-main/core/clustering/linear-algebra';

describe('cluster_qr label assignment', () => {
  it('labels points by their dominant direction', () => {
    expect(Array.from(clusterQr(Float64Array.of(1, 0, 0.9, 0.1, 0, 1, 0.2, 0.8), 4, 2))).toEqual([0, 0, 1, 1]);
  });

  // Reference: scikit-learn 1.2.1's sklearn.cluster._spectral.cluster_qr on a noisy 40 x 4 embedding, from
  // test/fixtures/spectral-references.py. Several points sit between directions, so this checks the pivots
  // and the rotation, not only the easy cases.
  it("gives scikit-learn's labels on a noisy embedding", () => {
    const { count, k, embedding, labels } = references.clusterQr;
    expect(Array.from(clusterQr(Float64Array.from(embedding), count, k))).toEqual(labels);
  });

  it('does not change when the embedding is rotated or its columns flip sign', () => {
    const { count, k, embedding } = references.clusterQr;
    const original = clusterQr(Float64Array.from(embedding), count, k);
    // A rotation by 0.7 rad in the (0, 2) plane, then a sign flip of column 3: both orthogonal.
    const rotation = Float64Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, -1]);
    const [c, s] = [Math.cos(0.7), Math.sin(0.7)];
    rotation[0] = c;
    rotation[2] = -s;
    rotation[8] = s;
    rotation[10] = c;
    const rotated = multiply(Float64Array.from(embedding), rotation, count, k, k);
    expect(Array.from(clusterQr(rotated, count, k))).toEqual(Array.from(original));
  });

  it('rejects mismatched sizes', () => {
    expect(() => clusterQr(new Float64Array(5), 3, 2)).toThrow(/count x k/);
    expect(() => clusterQr(new Float64Array(2), 1, 2)).toThrow(/Cannot assign/);
  });
});
