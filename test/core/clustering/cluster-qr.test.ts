import { describe, expect, it } from 'vitest';
import references from '../../fixtures/spectral-references.json';
import { clusterQr } from '../../../src-main/core/clustering/cluster-qr';
import { multiply } from '../../../src-main/core/clustering/linear-algebra';
import { javascriptKernel, onnxKernel } from '../../../src-main/core/clustering/matrix-kernel';
import { seededRandom } from '../../../src-main/core/util/random';

describe('cluster_qr label assignment', () => {
  it('labels points by their dominant direction', async () => {
    expect(Array.from(await clusterQr(Float64Array.of(1, 0, 0.9, 0.1, 0, 1, 0.2, 0.8), 4, 2))).toEqual([0, 0, 1, 1]);
  });

  // Reference: scikit-learn 1.2.1's sklearn.cluster._spectral.cluster_qr on a noisy 40 x 4 embedding, from
  // test/fixtures/spectral-references.py. Several points sit between directions, so this checks the pivots
  // and the rotation, not only the easy cases.
  it("gives scikit-learn's labels on a noisy embedding, by Householder QR and by products on a kernel", async () => {
    const { count, k, embedding, labels } = references.clusterQr;
    expect(Array.from(await clusterQr(Float64Array.from(embedding), count, k))).toEqual(labels);
    // kernelWork 0 takes the product path even for this small embedding.
    expect(Array.from(await clusterQr(Float64Array.from(embedding), count, k, await onnxKernel(1), 0))).toEqual(labels);
    expect(Array.from(await clusterQr(Float64Array.from(embedding), count, k, javascriptKernel(), 0))).toEqual(labels);
  });

  it('picks the same pivots by products as by Householder QR on a larger clustered embedding', async () => {
    // 12 noisy directions in 12 dimensions, 600 points: the labels follow the pivots and the rotation.
    const random = seededRandom(5);
    const count = 600;
    const k = 12;
    const embedding = new Float64Array(count * k);
    for (let point = 0; point < count; point++) {
      for (let column = 0; column < k; column++) embedding[point * k + column] = (column === point % k ? 1 : 0) + 0.3 * (random() - 0.5);
    }
    const householder = await clusterQr(embedding, count, k);
    const products = await clusterQr(embedding, count, k, javascriptKernel(), 0);
    expect(Array.from(products)).toEqual(Array.from(householder));
    expect(new Set(householder).size).toBe(k);
  });

  it('does not change when the embedding is rotated or its columns flip sign', async () => {
    const { count, k, embedding } = references.clusterQr;
    const original = await clusterQr(Float64Array.from(embedding), count, k);
    // A rotation by 0.7 rad in the (0, 2) plane, then a sign flip of column 3: both orthogonal.
    const rotation = Float64Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, -1]);
    const [c, s] = [Math.cos(0.7), Math.sin(0.7)];
    rotation[0] = c;
    rotation[2] = -s;
    rotation[8] = s;
    rotation[10] = c;
    const rotated = multiply(Float64Array.from(embedding), rotation, count, k, k);
    expect(Array.from(await clusterQr(rotated, count, k))).toEqual(Array.from(original));
  });

  it('rejects mismatched sizes', async () => {
    await expect(clusterQr(new Float64Array(5), 3, 2)).rejects.toThrow(/count x k/);
    await expect(clusterQr(new Float64Array(2), 1, 2)).rejects.toThrow(/Cannot assign/);
  });
});
