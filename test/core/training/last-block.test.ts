import { describe, expect, it } from 'vitest';
import type { LastBlockWeights } from '../../../src-main/core/backbones/tfjs-to-onnx';
import { javascriptKernel } from '../../../src-main/core/clustering/matrix-kernel';
import { blockGradient, type BlockInputs, gatherBlockInputs, lastBlockFeatures, onnxBlockRuntime, trainLastBlock } from '../../../src-main/core/training/last-block';
import { BLOCK_CODEC, decodeTrainerState, encodeTrainerState } from '../../../src-main/core/training/training-state';
import { seededRandom } from '../../../src-main/core/util/random';

function randomBlock(inputs: number, outputs: number, seed: number, spread: number): LastBlockWeights {
  const random = seededRandom(seed);
  return {
    inputs,
    outputs,
    weight: Float32Array.from({ length: inputs * outputs }, () => (random() - 0.5) * spread),
    bias: Float32Array.from({ length: outputs }, () => random() * 2),
    activation: 'relu6',
  };
}

/** The block by definition: mean over positions of relu6(W x + b), maps count x channels x positions. */
function referenceFeatures(block: LastBlockWeights, maps: Float32Array, count: number, positions: number): Float64Array {
  const out = new Float64Array(count * block.outputs);
  for (let image = 0; image < count; image++)
    for (let output = 0; output < block.outputs; output++) {
      let sum = 0;
      for (let position = 0; position < positions; position++) {
        let z = block.bias[output]!;
        for (let input = 0; input < block.inputs; input++) z += block.weight[output * block.inputs + input]! * maps[(image * block.inputs + input) * positions + position]!;
        sum += Math.min(6, Math.max(0, z));
      }
      out[image * block.outputs + output] = sum / positions;
    }
  return out;
}

const channels = 8;
/** Block inputs where 3 of 8 channels carry the species and 5 are strong noise, 11 images a species. */
const makeInputs = (classes: number, seed: number): BlockInputs => {
  const random = seededRandom(seed);
  const perClass = 11;
  const count = classes * perClass;
  const positions = 4;
  const centers = Array.from({ length: classes }, () => Array.from({ length: 3 }, () => (random() - 0.5) * 4));
  const make = () => {
    const maps = new Float32Array(count * channels * positions);
    for (let image = 0; image < count; image++)
      for (let channel = 0; channel < channels; channel++)
        for (let position = 0; position < positions; position++)
          maps[(image * channels + channel) * positions + position] =
            channel < 3 ? centers[Math.floor(image / perClass)]![channel]! + (random() - 0.5) * 0.4 : (random() - 0.5) * 8;
    return maps;
  };
  return { count, channels, scales: [{ positions, plain: make(), mirrored: make() }], labels: Int32Array.from({ length: count }, (_, image) => Math.floor(image / perClass)) };
};

describe('last-block training', () => {
  it('pools like the block by definition, per view and averaged over sizes and views', async () => {
    const random = seededRandom(5);
    const block = randomBlock(5, 4, 1, 6);
    const count = 3;
    const maps = (positions: number) => Float32Array.from({ length: count * 5 * positions }, () => random() * 2 - 0.5);
    const scales = [4, 9].map((positions) => ({ positions, plain: maps(positions), mirrored: maps(positions) }));
    const inputs = { count, channels: 5, scales };
    const plain = await lastBlockFeatures(block, inputs, 'plain', javascriptKernel());
    const average = await lastBlockFeatures(block, inputs, 'average', javascriptKernel());
    const expected = scales.map((scale) => referenceFeatures(block, scale.plain, count, scale.positions));
    const expectedMirrored = scales.map((scale) => referenceFeatures(block, scale.mirrored, count, scale.positions));
    for (let index = 0; index < count * 4; index++) {
      expect(plain.data[index]).toBeCloseTo((expected[0]![index]! + expected[1]![index]!) / 2, 5);
      expect(average.data[index]).toBeCloseTo((expected[0]![index]! + expected[1]![index]! + expectedMirrored[0]![index]! + expectedMirrored[1]![index]!) / 4, 5);
    }
  });

  it('has weight and bias gradients equal to finite differences, through the ReLU6 clip', async () => {
    const random = seededRandom(9);
    const block = randomBlock(5, 4, 2, 8);
    const count = 3;
    const positions = 4;
    const maps = Float32Array.from({ length: count * 5 * positions }, () => random() * 2 - 0.5);
    const coefficients = Float64Array.from({ length: count * 4 }, () => random() * 2 - 1);
    const lossOf = (features: ArrayLike<number>) => Array.from(features).reduce((sum, value, index) => sum + value * coefficients[index]!, 0);
    const { rows, columns } = gatherBlockInputs(maps, 5, positions, [0, 1, 2]);
    const { weightGradient, biasGradient } = await blockGradient(block, rows, columns, count, positions, javascriptKernel(), (features) => ({
      loss: lossOf(features),
      accuracy: Number.NaN,
      gradient: Float32Array.from(coefficients),
    }));
    // Some pre-activations must lie below 0 and some above 6, or the clip is not exercised.
    const z = referenceFeatures({ ...block, activation: 'relu6' }, maps, count, positions);
    expect(z.some((value) => value > 0 && value < 6)).toBe(true);
    const epsilon = 1e-3;
    const numeric = (change: (copy: LastBlockWeights, delta: number) => void) => {
      const at = (delta: number) => {
        const copy = { ...block, weight: Float32Array.from(block.weight), bias: Float32Array.from(block.bias) };
        change(copy, delta);
        return lossOf(referenceFeatures(copy, maps, count, positions));
      };
      return (at(epsilon) - at(-epsilon)) / (2 * epsilon);
    };
    let clipped = 0;
    for (let index = 0; index < block.weight.length; index++) {
      const expected = numeric((copy, delta) => (copy.weight[index] = copy.weight[index]! + delta));
      expect(Math.abs(weightGradient[index]! - expected)).toBeLessThan(2e-3 * (1 + Math.abs(expected)));
      if (expected === 0) clipped++;
    }
    for (let index = 0; index < block.bias.length; index++) {
      const expected = numeric((copy, delta) => (copy.bias[index] = copy.bias[index]! + delta));
      expect(Math.abs(biasGradient[index]! - expected)).toBeLessThan(2e-3 * (1 + Math.abs(expected)));
    }
    expect(clipped).toBeLessThan(block.weight.length);
  });

  it('runs the same passes on the onnxruntime graphs as in JavaScript, for each activation', async () => {
    const runtime = await onnxBlockRuntime();
    const random = seededRandom(11);
    const count = 4;
    const positions = 6;
    const maps = Float32Array.from({ length: count * 5 * positions }, () => random() * 2 - 0.5);
    const pooledGradient = Float32Array.from({ length: count * 4 }, () => random() * 2 - 1);
    for (const activation of ['relu6', 'relu', 'linear'] as const) {
      const block = { ...randomBlock(5, 4, 2, 8), activation };
      const { rows, columns } = gatherBlockInputs(maps, 5, positions, [0, 1, 2, 3]);
      let viaJavaScript = new Float32Array(0);
      const expected = await blockGradient(block, rows, columns, count, positions, javascriptKernel(), (features) => {
        viaJavaScript = Float32Array.from(features);
        return { loss: 0, accuracy: Number.NaN, gradient: pooledGradient };
      });
      const forward = await runtime.forward(block, maps, count, positions, true);
      const backward = await runtime.backward(block, maps, count, positions, forward.mask!, pooledGradient);
      for (let index = 0; index < viaJavaScript.length; index++) expect(forward.features[index]).toBeCloseTo(viaJavaScript[index]!, 5);
      for (let index = 0; index < expected.weightGradient.length; index++) expect(backward.weightGradient[index]).toBeCloseTo(expected.weightGradient[index]!, 5);
      for (let index = 0; index < expected.biasGradient.length; index++) expect(backward.biasGradient[index]).toBeCloseTo(expected.biasGradient[index]!, 5);
      const features = await lastBlockFeatures(block, { count, channels: 5, scales: [{ positions, plain: maps, mirrored: maps }] }, 'plain');
      for (let index = 0; index < viaJavaScript.length; index++) expect(features.data[index]).toBeCloseTo(viaJavaScript[index]!, 5);
    }
  });

  // Synthetic maps: only channels 0-2 carry the species, channels 3-7 carry large noise that the random
  // pretrained block mixes in. Episodic training must lower the loss and raise validation cluster accuracy.
  it('learns to separate species that the pretrained block mixes with noise', async () => {
    const train = makeInputs(12, 1);
    const validation = makeInputs(6, 2);
    const block = { ...randomBlock(channels, 6, 3, 1), activation: 'relu' as const };
    const pretrained = Array.from(block.weight);
    const result = await trainLastBlock(block, train, validation, { way: 6, tasksPerEpoch: 40, epochs: 6, milestones: [4], learningRate: 0.05, seed: 4, kernel: javascriptKernel() });
    expect(result.history).toHaveLength(6);
    expect(result.history.at(-1)!.loss).toBeLessThan(0.8 * result.history[0]!.loss);
    expect(result.bestEpoch).toBeGreaterThan(0);
    expect(result.history[result.bestEpoch - 1]!.validationCa).toBeGreaterThan(result.initialValidationCa + 0.1);
    // The pretrained block is not changed in place.
    expect(Array.from(block.weight)).toEqual(pretrained);
    expect(Array.from(result.best.weight)).not.toEqual(pretrained);
  });

  it('ends as the uninterrupted run when cancelled after an epoch and resumed from the stored state', async () => {
    const train = makeInputs(8, 5);
    const validation = makeInputs(4, 6);
    const block = { ...randomBlock(channels, 6, 7, 1), activation: 'relu6' as const };
    const options = { way: 4, tasksPerEpoch: 6, epochs: 3, milestones: [1], learningRate: 0.05, seed: 8, kernel: javascriptKernel() };
    const whole = await trainLastBlock(block, train, validation, options);
    const controller = new AbortController();
    let stored: Buffer | undefined;
    await expect(
      trainLastBlock(block, train, validation, {
        ...options,
        signal: controller.signal,
        onState: (state) => {
          stored = encodeTrainerState(state, BLOCK_CODEC);
          controller.abort();
        },
      }),
    ).rejects.toThrow(/Cancelled/);
    const resumed = await trainLastBlock(block, train, validation, { ...options, resume: decodeTrainerState(stored!, BLOCK_CODEC) });
    const withoutTimes = (history: { seconds: number }[]) => history.map(({ seconds: _seconds, ...record }) => record);
    expect(withoutTimes(resumed.history)).toEqual(withoutTimes(whole.history));
    expect(resumed.bestEpoch).toBe(whole.bestEpoch);
    expect(resumed.initialValidationCa).toBe(whole.initialValidationCa);
    expect(Array.from(resumed.best.weight)).toEqual(Array.from(whole.best.weight));
    expect(Array.from(resumed.best.bias)).toEqual(Array.from(whole.best.bias));
  });
});
