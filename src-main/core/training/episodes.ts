/**
 * Episode sampling for few-shot training (Snell et al. 2017; Bjerge et al. 2025, section 3.3): each task
 * draws `way` species, `shot` support and `query` query images per species, from species that have enough.
 */
import type { RandomSource } from '../util/random';

/** One N-way K-shot task. Indices point into the training rows; both lists are species-major. */
export interface Episode {
  /** way * shot row indices: species 0's support first, then species 1's, ... */
  support: Int32Array;
  /** way * query row indices in the same species order. */
  query: Int32Array;
  way: number;
  shot: number;
  queries: number;
  /** The species (class index) of each way, in order. */
  classes: Int32Array;
}

/** Settings of an episode. The paper used 5-shot, 6 queries, 15-30 ways. */
export interface EpisodeShape {
  way: number;
  shot: number;
  query: number;
}

/** Groups row indices by class: `rowsByClass[c]` lists the rows whose label is c. */
export function groupByClass(labels: ArrayLike<number>): number[][] {
  const groups: number[][] = [];
  for (let row = 0; row < labels.length; row++) {
    const label = labels[row]!;
    (groups[label] ??= []).push(row);
  }
  return groups.map((group) => group ?? []);
}

/** The first `count` items of a Fisher-Yates shuffle of `items` (a uniform random sample, in random order). */
export function shuffledPrefix<T>(items: readonly T[], count: number, random: RandomSource): T[] {
  const copy = [...items];
  for (let index = 0; index < count; index++) {
    const pick = index + Math.floor(random() * (copy.length - index));
    [copy[index], copy[pick]] = [copy[pick]!, copy[index]!];
  }
  return copy.slice(0, count);
}

/** Classes with at least shot + query rows; throws with advice when fewer than two exist. */
export function eligibleClasses(rowsByClass: number[][], shape: EpisodeShape): number[] {
  const eligible = rowsByClass.flatMap((rows, label) => (rows.length >= shape.shot + shape.query ? [label] : []));
  if (eligible.length < 2) {
    throw new Error(
      `Training needs at least 2 species with ${shape.shot + shape.query} or more labeled images each (${shape.shot} support + ${shape.query} query); found ${eligible.length}. Label more images or lower --shot/--query.`,
    );
  }
  return eligible;
}

/**
 * Draws one episode; `way` is capped at the number of eligible species.
 *
 * sampleEpisode(groupByClass([0,0,1,1,2,2]), { way: 2, shot: 1, query: 1 }, seededRandom(1))
 * // { support: Int32Array [4, 1], query: Int32Array [5, 0], way: 2, shot: 1, queries: 1, classes: [2, 0] }
 */
export function sampleEpisode(rowsByClass: number[][], shape: EpisodeShape, random: RandomSource): Episode {
  const eligible = eligibleClasses(rowsByClass, shape);
  const way = Math.min(shape.way, eligible.length);
  const classes = shuffledPrefix(eligible, way, random);
  const support = new Int32Array(way * shape.shot);
  const query = new Int32Array(way * shape.query);
  classes.forEach((label, position) => {
    const rows = shuffledPrefix(rowsByClass[label]!, shape.shot + shape.query, random);
    support.set(rows.slice(0, shape.shot), position * shape.shot);
    query.set(rows.slice(shape.shot), position * shape.query);
  });
  return { support, query, way, shot: shape.shot, queries: shape.query, classes: Int32Array.from(classes) };
}
