import { describe, expect, it } from 'vitest';
import { principalComponents } from '../../src-main/core/projection/pca';

describe('principalComponents', () => {
  it('finds the axes of an elongated cloud, largest variance first', () => {
    // Points on a line along (3, 4)/5 with a small spread along (-4, 3)/5: variance 100 vs 1, in 2-D.
    const data: number[] = [];
    for (let index = -10; index <= 10; index++) {
      const along = index * Math.sqrt(100 * 3 / 110) * 1.0;
      const across = (index % 2 === 0 ? 1 : -1) * 1;
      data.push((3 * along - 4 * across) / 5, (4 * along + 3 * across) / 5);
    }
    const { coordinates, explained } = principalComponents({ data: Float32Array.from(data), count: 21, dims: 2 }, 2);
    expect(explained[0]! + explained[1]!).toBeCloseTo(1, 5);
    expect(explained[0]).toBeGreaterThan(0.9);
    // The first coordinate of each point is its position along (3, 4)/5 up to the centring.
    const first = Array.from({ length: 21 }, (_, row) => coordinates[row * 2]!);
    const along = Array.from({ length: 21 }, (_, row) => (3 * data[row * 2]! + 4 * data[row * 2 + 1]!) / 5);
    const meanAlong = along.reduce((a, b) => a + b, 0) / 21;
    for (let row = 0; row < 21; row++) expect(Math.abs(first[row]!)).toBeCloseTo(Math.abs(along[row]! - meanAlong), 3);
  });
});
