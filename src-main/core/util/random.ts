/** A seeded pseudo-random source: `random()` returns a float in [0, 1). */
export type RandomSource = () => number;

/** A seeded source whose position can be read: `seededRandom(source.state)` goes on exactly where it stands. */
export interface SeededRandom extends RandomSource {
  readonly state: number;
}

/**
 * Mulberry32: a small, fast 32-bit generator; the same seed gives the same sequence on every platform.
 *
 * const random = seededRandom(42); random() // 0.6011037519201636
 */
export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Object.defineProperty(next, 'state', { get: () => state }) as SeededRandom;
}

/** Derives an independent seed for restart `index` from a base seed, so restarts do not share streams. */
export function deriveSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * `size` distinct numbers of 0..count-1, a uniform sample without replacement in the order drawn: the first
 * `size` entries of a partial Fisher-Yates shuffle driven by `random`. When `size` >= `count` it is every
 * number in order, and nothing is drawn.
 *
 * sampleRows(10, 3, seededRandom(1)) // Int32Array [6, 1, 0]
 */
export function sampleRows(count: number, size: number, random: RandomSource): Int32Array {
  const rows = Int32Array.from({ length: count }, (_, row) => row);
  if (size >= count) return rows;
  for (let position = 0; position < size; position++) {
    const other = position + Math.floor(random() * (count - position));
    const value = rows[position]!;
    rows[position] = rows[other]!;
    rows[other] = value;
  }
  return rows.slice(0, size);
}
