import { describe, expect, it } from 'vitest';
import { sampleRows, seededRandom } from '../../../src-main/core/util/random';
import { gatherRows, squaredRowNorms } from '../../../src-main/core/util/rows';

describe('row helpers', () => {
  it('gathers rows in the order listed, repeats included', () => {
    expect(Array.from(gatherRows(Float32Array.of(1, 2, 3, 4, 5, 6), 2, [2, 0, 2]))).toEqual([5, 6, 1, 2, 5, 6]);
  });

  it('computes squared row norms', () => {
    expect(Array.from(squaredRowNorms(Float32Array.of(3, 4, 1, 0, 9, 9), 2, 2))).toEqual([25, 1]);
  });

  it('samples distinct rows reproducibly, and every row in order when asked for all', () => {
    const first = sampleRows(1000, 50, seededRandom(7));
    expect(new Set(first).size).toBe(50);
    expect(first.every((row) => row >= 0 && row < 1000)).toBe(true);
    expect(Array.from(sampleRows(1000, 50, seededRandom(7)))).toEqual(Array.from(first));
    expect(Array.from(sampleRows(10, 3, seededRandom(1)))).toEqual([6, 1, 0]);
    const random = seededRandom(3);
    expect(Array.from(sampleRows(4, 9, random))).toEqual([0, 1, 2, 3]);
    // Nothing was drawn: the source is where it started.
    expect(random()).toBe(seededRandom(3)());
  });
});
