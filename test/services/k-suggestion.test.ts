import { describe, expect, it } from 'vitest';
import { candidateGrid } from '../../src-main/services/k-suggestion';

describe('candidateGrid', () => {
  it('tries every k when the range is small', () => {
    expect(candidateGrid(6)).toEqual([2, 3, 4, 5, 6]);
    expect(candidateGrid(13)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  });

  it('spaces a dozen candidates on a log scale over a wide range, from 2 to maxK', () => {
    const grid = candidateGrid(200);
    expect(grid[0]).toBe(2);
    expect(grid.at(-1)).toBe(200);
    expect(grid).toHaveLength(12);
    expect(grid).toEqual([...grid].sort((a, b) => a - b));
    // Ratios between neighbours are about (100)^(1/11) = 1.52.
    for (let index = 1; index < grid.length; index++) expect(grid[index]! / grid[index - 1]!).toBeGreaterThan(1.3);
  });
});
