import { describe, expect, it } from 'vitest';
import { labelSpreading } from '../../../src-main/core/clustering/label-spreading';
import { javascriptKernel } from '../../../src-main/core/clustering/matrix-kernel';

describe('labelSpreading', () => {
  it('follows the shape of elongated clusters where nearest-center rules fail', async () => {
    // Two long parallel lines 1 apart, 30 points each, labeled only at one end each. A point at the far end
    // of line A is nearer line B's labeled end than line A's, but the chain of neighbours carries A's label.
    const points: number[] = [];
    for (let index = 0; index < 30; index++) points.push(index * 0.3, 0);
    for (let index = 0; index < 30; index++) points.push(index * 0.3, 1.2);
    const seeds = new Int32Array(60).fill(-1);
    seeds[0] = 0;
    seeds[59] = 1;
    const { labels, confidence } = await labelSpreading(
      { data: Float32Array.from(points), count: 60, dims: 2 },
      { seeds, neighbors: 3, kernel: javascriptKernel() },
    );
    expect(Array.from(labels.subarray(0, 30))).toEqual(new Array(30).fill(0));
    expect(Array.from(labels.subarray(30))).toEqual(new Array(30).fill(1));
    expect(confidence[0]).toBe(1);
    expect(confidence[15]).toBeGreaterThan(0.5);
  });

  it('needs at least one label', async () => {
    await expect(labelSpreading({ data: new Float32Array(8), count: 4, dims: 2 }, { seeds: new Int32Array(4).fill(-1) })).rejects.toThrow(/at least one labeled/);
  });
});
