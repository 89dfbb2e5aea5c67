import { describe, expect, it } from 'vitest';
import { type LabeledFeatures, type TrainOptions, type TrainResult, trainAdapter } from '../../../src-main/core/training/trainer';
import { ADAPTER_CODEC, decodeTrainerState, encodeTrainerState } from '../../../src-main/core/training/training-state';
import { seededRandom } from '../../../src-main/core/util/random';

// Small synthetic species with a mirrored-like second view, as the services pass them: the class lives in
// the first 4 of 24 dimensions, the rest is noise.
function makeSpecies(classes: number, perClass: number, seed: number): LabeledFeatures {
  const random = seededRandom(seed);
  const dims = 24;
  const count = classes * perClass;
  const data = new Float32Array(count * dims);
  const mirrored = new Float32Array(count * dims);
  const labels = new Int32Array(count);
  const centers = Array.from({ length: classes }, () => Array.from({ length: 4 }, () => (random() - 0.5) * 6));
  for (let row = 0; row < count; row++) {
    const label = Math.floor(row / perClass);
    labels[row] = label;
    for (let index = 0; index < dims; index++) {
      const value = index < 4 ? centers[label]![index]! + (random() - 0.5) * 0.8 : (random() - 0.5) * 8;
      data[row * dims + index] = value;
      mirrored[row * dims + index] = value + (random() - 0.5) * 0.2;
    }
  }
  return { data, count, dims, labels, views: [mirrored] };
}

const train = makeSpecies(8, 11, 11);
const validation = makeSpecies(4, 11, 12);

/** Per-epoch losses and every weight of the chosen adapter, as plain numbers for exact comparison. */
function fingerprint(result: TrainResult) {
  const { best } = result;
  return {
    losses: result.history.map((record) => record.loss),
    accuracies: result.history.map((record) => record.accuracy),
    validationCa: result.history.map((record) => record.validationCa),
    bestEpoch: result.bestEpoch,
    weights: [best.w1, best.b1, best.w2, best.b2].map((array) => Array.from(array)),
  };
}

// The settings train-service.ts and paper-benchmark.ts use (residual linear adapter), and the two-layer head.
const settings: Record<string, TrainOptions> = {
  'residual linear adapter (as the services train it)': {
    way: 4, shot: 5, query: 6, tasksPerEpoch: 12, epochs: 2, hiddenDims: 0, residual: true, normaliseOutput: true, learningRate: 1e-3, alpha: 0.1,
  },
  'two-layer head': { way: 4, shot: 5, query: 6, tasksPerEpoch: 12, epochs: 2, hiddenDims: 32, outputDims: 8, learningRate: 0.01, alpha: 0.1 },
};

describe('trainAdapter reproducibility', () => {
  for (const [name, options] of Object.entries(settings)) {
    it(`gives the same losses and weights for the same seed: ${name}`, async () => {
      const first = fingerprint(await trainAdapter(train, validation, { ...options, seed: 4 }));
      const second = fingerprint(await trainAdapter(train, validation, { ...options, seed: 4 }));
      expect(first.losses).toHaveLength(2);
      expect(first.losses.every(Number.isFinite)).toBe(true);
      expect(second).toEqual(first);
      const other = fingerprint(await trainAdapter(train, validation, { ...options, seed: 5 }));
      expect(other.losses).not.toEqual(first.losses);
      expect(other.weights).not.toEqual(first.weights);
    });
  }

  it('ends as the uninterrupted run when cancelled after an epoch and resumed from the stored state', async () => {
    // 4 epochs with the learning rate dropping after the 2nd, so momentum, schedule and random stream all matter.
    const options: TrainOptions = { ...settings['two-layer head']!, epochs: 4, milestones: [2], seed: 6 };
    const whole = await trainAdapter(train, validation, options);
    const controller = new AbortController();
    const stored: Buffer[] = [];
    await expect(
      trainAdapter(train, validation, {
        ...options,
        signal: controller.signal,
        onState: (state) => {
          stored.push(encodeTrainerState(state, ADAPTER_CODEC));
          if (state.loop.epoch === 2) controller.abort();
        },
      }),
    ).rejects.toThrow(/Cancelled/);
    expect(stored).toHaveLength(2);
    const resumedEpochs: number[] = [];
    const resumed = await trainAdapter(train, validation, {
      ...options,
      resume: decodeTrainerState(stored[1]!, ADAPTER_CODEC),
      onEpoch: (record) => resumedEpochs.push(record.epoch),
    });
    expect(resumedEpochs).toEqual([3, 4]);
    expect(fingerprint(resumed)).toEqual(fingerprint(whole));
    // Resuming from the first epoch's state gives the same run too.
    expect(fingerprint(await trainAdapter(train, validation, { ...options, resume: decodeTrainerState(stored[0]!, ADAPTER_CODEC) }))).toEqual(fingerprint(whole));
  });

  it('refuses a stored state of another shape', async () => {
    const options: TrainOptions = { ...settings['two-layer head']!, epochs: 1 };
    let stored: Buffer | undefined;
    await trainAdapter(train, validation, { ...options, onState: (state) => void (stored = encodeTrainerState(state, ADAPTER_CODEC)) });
    await expect(trainAdapter(train, validation, { ...options, hiddenDims: 16, resume: decodeTrainerState(stored!, ADAPTER_CODEC) })).rejects.toThrow(/does not fit this model.*start a new training run/);
  });
});
