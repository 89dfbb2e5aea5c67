import { describe, expect, it } from 'vitest';
import references from '../../fixtures/clustering-references.json';
import { agglomerativeWard } from '../../../src-main/core/clustering/agglomerative';
import { javascriptKernel } from '../../../src-main/core/clustering/matrix-kernel';
import { adjustedRandIndex } from '../../../src-main/core/metrics/clustering-metrics';
import type { Progress } from '../../../src-main/core/util/progress';
import { blobs } from '../../helpers/fixtures';

const reference = references.agglomerative;
const vectors = { data: Float32Array.from(reference.data), count: reference.count, dims: reference.dims };
const far = reference.far;
const farVectors = { data: Float32Array.from(far.data), count: far.count, dims: far.dims };

describe('Ward agglomerative clustering', () => {
  // Reference: scikit-learn 1.2.1 AgglomerativeClustering(linkage='ward') on 240 overlapping points in 8
  // dimensions (test/fixtures/clustering-references.py); ARI 0.969 against the truth at k = 6.
  it("matches scikit-learn's exact Ward tree at several cuts", async () => {
    for (const [k, expected] of Object.entries(reference.exact)) {
      const result = await agglomerativeWard(vectors, { k: Number(k) });
      expect(adjustedRandIndex(expected, result.labels)).toBe(1);
      expect(new Set(result.labels).size).toBe(Number(k));
      expect(result.mergeCosts.length).toBe(reference.count - Number(k));
    }
  });

  it("matches scikit-learn's Ward tree with a 10-neighbour connectivity graph", async () => {
    for (const kernel of [javascriptKernel(), undefined]) {
      for (const [k, expected] of Object.entries(reference.connectivity)) {
        const result = await agglomerativeWard(vectors, { k: Number(k), connectivityNeighbors: reference.neighbors, kernel });
        expect(adjustedRandIndex(expected, result.labels)).toBe(1);
        expect(result.graphComponents).toBe(1);
      }
    }
  });

  // Six tight groups whose 4-neighbour graph has 6 pieces; scikit-learn links the closest pair of every two
  // pieces and warns. Cuts at 2, 3 and 8 clusters cross the pieces' links and split inside a piece.
  it('joins a disconnected graph as scikit-learn does', async () => {
    for (const [k, expected] of Object.entries(far.labels)) {
      const result = await agglomerativeWard(farVectors, { k: Number(k), connectivityNeighbors: far.neighbors, kernel: javascriptKernel() });
      expect(result.graphComponents).toBe(far.components);
      expect(adjustedRandIndex(expected, result.labels)).toBe(1);
    }
  });

  it('hand-checked: merge costs of four points on a line', async () => {
    // Points 0, 1, 10, 12: Ward merges {0, 1} (cost 1/2 x 1 = 0.5), then {10, 12} (0.5 x 4 = 2), then the
    // two pairs (2 x 2 / 4 x (11 - 0.5)^2 = 110.25).
    const data = Float32Array.from([0, 1, 10, 12]);
    const exact = await agglomerativeWard({ data, count: 4, dims: 1 }, { k: 1 });
    expect(Array.from(exact.mergeCosts)).toEqual([0.5, 2, 110.25]);
    const graph = await agglomerativeWard({ data, count: 4, dims: 1 }, { k: 1, connectivityNeighbors: 1 });
    expect(Array.from(graph.mergeCosts)).toEqual([0.5, 2, 110.25]);
    const two = await agglomerativeWard({ data, count: 4, dims: 1 }, { k: 2, connectivityNeighbors: 1 });
    expect(Array.from(two.labels)).toEqual([0, 0, 1, 1]);
  });

  it('exact and connectivity trees agree on separated blobs, and the exact one refuses huge inputs', async () => {
    const { data, labels } = blobs(600, 10, 6, 5);
    const blobVectors = { data, count: 600, dims: 10 };
    const exact = await agglomerativeWard(blobVectors, { k: 6 });
    const graph = await agglomerativeWard(blobVectors, { k: 6, connectivityNeighbors: 10 });
    expect(adjustedRandIndex(labels, exact.labels)).toBe(1);
    expect(adjustedRandIndex(labels, graph.labels)).toBe(1);
    await expect(agglomerativeWard({ data: new Float32Array(8001), count: 8001, dims: 1 }, { k: 2 })).rejects.toThrow(/limited to 8000/);
  });

  it('reports progress and stops when cancelled', async () => {
    const { data } = blobs(3000, 8, 5, 2);
    const blobVectors = { data, count: 3000, dims: 8 };
    const seen: Progress[] = [];
    await agglomerativeWard(blobVectors, { k: 5, connectivityNeighbors: 10, onProgress: (progress) => seen.push(progress) });
    for (let index = 1; index < seen.length; index++) expect(seen[index]!.fraction).toBeGreaterThanOrEqual(seen[index - 1]!.fraction);
    expect(seen.some((progress) => /Ward merges/.test(progress.message))).toBe(true);
    for (const connectivityNeighbors of [10, undefined]) {
      const controller = new AbortController();
      const running = agglomerativeWard(blobVectors, {
        k: 5,
        connectivityNeighbors,
        signal: controller.signal,
        onProgress: (progress) => {
          if (/Ward merges: [1-9]/.test(progress.message)) controller.abort();
        },
      });
      await expect(running).rejects.toThrow(/Cancelled/);
    }
  });
});
