import { describe, expect, it } from 'vitest';
import { decodeAdapter, encodeAdapter, applyAdapter } from '../../../src-main/core/training/adapter';
import { groupByClass, sampleEpisode } from '../../../src-main/core/training/episodes';
import { trainAdapter, validationClusterAccuracy } from '../../../src-main/core/training/trainer';
import { seededRandom } from '../../../src-main/core/util/random';

// Synthetic "species": 12 classes x 11 images in 32-d, where only the first 4 dimensions carry the class
// and 28 dimensions of large noise drown it. A good adapter learns to keep the first 4.
function makeSpecies(classes: number, perClass: number, seed: number) {
  const random = seededRandom(seed);
  const dims = 32;
  const data = new Float32Array(classes * perClass * dims);
  const labels = new Int32Array(classes * perClass);
  const centers = Array.from({ length: classes }, () => Array.from({ length: 4 }, () => (random() - 0.5) * 6));
  for (let row = 0; row < classes * perClass; row++) {
    const label = Math.floor(row / perClass);
    labels[row] = label;
    for (let index = 0; index < dims; index++) {
      data[row * dims + index] = index < 4 ? centers[label]![index]! + (random() - 0.5) * 0.6 : (random() - 0.5) * 12;
    }
  }
  return { data, count: classes * perClass, dims, labels };
}

describe('episodes', () => {
  it('draws way x shot support and way x query queries of distinct species, species-major', () => {
    const labels = Int32Array.from([0, 0, 0, 1, 1, 1, 2, 2, 2, 3]);
    const episode = sampleEpisode(groupByClass(labels), { way: 5, shot: 2, query: 1 }, seededRandom(3));
    expect(episode.way).toBe(3); // class 3 has too few images
    expect(episode.support).toHaveLength(6);
    expect(episode.query).toHaveLength(3);
    for (let position = 0; position < 3; position++) {
      const species = episode.classes[position]!;
      expect(labels[episode.support[position * 2]!]).toBe(species);
      expect(labels[episode.support[position * 2 + 1]!]).toBe(species);
      expect(labels[episode.query[position]!]).toBe(species);
    }
    expect(new Set([...episode.support, ...episode.query]).size).toBe(9);
  });

  it('explains what to do when too few species have enough images', () => {
    expect(() => sampleEpisode(groupByClass([0, 0, 1]), { way: 2, shot: 5, query: 6 }, seededRandom(1))).toThrow(/Label more images/);
  });
});

describe('trainAdapter', () => {
  it('learns an embedding that clusters unseen species better than the raw features', async () => {
    const train = makeSpecies(12, 11, 1);
    const validation = makeSpecies(6, 11, 2);
    const test = makeSpecies(6, 11, 3);
    const identity = { inputDims: 32, hiddenDims: 0, outputDims: 32, inputMean: new Float32Array(32), inputScale: 1,
      w1: Float32Array.from({ length: 32 * 32 }, (_, index) => (Math.floor(index / 32) === index % 32 ? 1 : 0)), b1: new Float32Array(32), w2: new Float32Array(0), b2: new Float32Array(0) };
    const before = await validationClusterAccuracy(identity, test, 0);
    const epochs: number[] = [];
    const result = await trainAdapter(train, validation, {
      way: 6, shot: 5, query: 6, tasksPerEpoch: 40, epochs: 4, hiddenDims: 0, outputDims: 8, learningRate: 0.01, seed: 5,
      onEpoch: (record) => epochs.push(record.validationCa),
    });
    expect(epochs).toHaveLength(4);
    expect(result.bestEpoch).toBe(epochs.indexOf(Math.max(...epochs)) + 1);
    const after = await validationClusterAccuracy(result.best, test, 0);
    expect(after).toBeGreaterThan(before + 0.15);
    expect(after).toBeGreaterThan(0.8);
  });

  it('is reproducible for a seed and round-trips through its stored form', async () => {
    const train = makeSpecies(8, 11, 4);
    const options = { way: 4, shot: 5, query: 6, tasksPerEpoch: 5, epochs: 1, hiddenDims: 16, outputDims: 8, seed: 9 };
    const first = await trainAdapter(train, null, options);
    const second = await trainAdapter(train, null, options);
    expect(Array.from(second.best.w2)).toEqual(Array.from(first.best.w2));
    const restored = decodeAdapter(encodeAdapter(first.best));
    expect(restored.hiddenDims).toBe(16);
    const a = await applyAdapter(first.best, train);
    const b = await applyAdapter(restored, train);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(trainAdapter(makeSpecies(4, 11, 1), null, { way: 2, signal: controller.signal })).rejects.toThrow(/Cancelled/);
  });
});
