import { describe, expect, it } from 'vitest';
import { applyAdapter } from '../../../src-main/core/training/adapter';
import { fitWithinClassWhitening, principalBasis, withLabeledSpecies } from '../../../src-main/core/training/whitening';
import { seededRandom } from '../../../src-main/core/util/random';
import { javascriptKernel } from '../../../src-main/core/clustering/matrix-kernel';

// Two species in 2-D: species 0 at (0,0) and (2,0), species 1 at (0,4) and (2,4).
// By hand: mean (1,2); covariance diag(1, 4), so the first component is y (variance 4), the second x.
// Projected, species differ only along y (+-2) and vary only along x (+-1): within-class scatter diag(0, 1),
// trace 1. Shrinkage 0.5 gives 0.5 diag(0, 1) + 0.25 I = diag(0.25, 0.75); whitening scales y by 1/0.5 and
// x by 1/sqrt(0.75). Point (0,0) becomes (-4, -1.1547) up to signs, of length sqrt(16 + 4/3) = 4.1633,
// so each output is (+-0.96077, +-0.27735).
const features = {
  data: Float32Array.of(0, 0, 2, 0, 0, 4, 2, 4),
  count: 4,
  dims: 2,
  labels: Int32Array.of(0, 0, 1, 1),
};

describe('fitWithinClassWhitening', () => {
  it('matches the hand-computed whitening of a tiny two-species example', async () => {
    const weights = await fitWithinClassWhitening(features, { dims: 2, shrinkage: 0.5, kernel: javascriptKernel() });
    expect(weights.outputDims).toBe(2);
    expect(weights.normaliseOutput).toBe(true);
    expect(Array.from(weights.inputMean)).toEqual([1, 2]);
    const out = await applyAdapter(weights, features, javascriptKernel());
    for (let row = 0; row < 4; row++) {
      expect(Math.abs(out.data[row * 2]!)).toBeCloseTo(0.96077, 4);
      expect(Math.abs(out.data[row * 2 + 1]!)).toBeCloseTo(0.27735, 4);
    }
    const distance = (a: number, b: number) => Math.hypot(out.data[a * 2]! - out.data[b * 2]!, out.data[a * 2 + 1]! - out.data[b * 2 + 1]!);
    expect(distance(0, 1)).toBeCloseTo(2 * 0.27735, 4); // same species: close
    expect(distance(0, 2)).toBeCloseTo(2 * 0.96077, 4); // other species: far
  });

  it('counts mirrored views as extra samples and caps dims by samples minus species', async () => {
    const withViews = await fitWithinClassWhitening({ ...features, views: [features.data] }, { dims: 2, shrinkage: 0.5, kernel: javascriptKernel() });
    const out = await applyAdapter(withViews, features, javascriptKernel());
    expect(Math.abs(out.data[0]!)).toBeCloseTo(0.96077, 4);
    const capped = await fitWithinClassWhitening({ ...features, count: 3, data: features.data.subarray(0, 6), labels: Int32Array.of(0, 0, 1) }, { dims: 8, kernel: javascriptKernel() });
    expect(capped.outputDims).toBe(1);
  });

  it('fits on the features raised to the input power and stores that power', async () => {
    // The squares of the example's features: their square roots are the example, so the outputs are too.
    const squared = { ...features, data: features.data.map((value) => value * value) };
    const weights = await fitWithinClassWhitening(squared, { dims: 2, shrinkage: 0.5, power: 0.5, kernel: javascriptKernel() });
    expect(weights.inputPower).toBe(0.5);
    expect(Array.from(weights.inputMean)).toEqual([1, 2]);
    const out = await applyAdapter(weights, squared, javascriptKernel());
    for (let row = 0; row < 4; row++) {
      expect(Math.abs(out.data[row * 2]!)).toBeCloseTo(0.96077, 4);
      expect(Math.abs(out.data[row * 2 + 1]!)).toBeCloseTo(0.27735, 4);
    }
    expect((await fitWithinClassWhitening(features, { dims: 2, kernel: javascriptKernel() })).inputPower).toBeUndefined();
  });

  it('finds the same principal subspace from the small Gram matrix as from the covariance, with fewer samples than dimensions', async () => {
    const random = seededRandom(3);
    const inputDims = 30;
    const samples = 12;
    const dims = 5;
    // Samples spread unequally along the axes, so the top directions are well separated; centred by rows.
    const centredTransposed = new Float32Array(inputDims * samples);
    for (let d = 0; d < inputDims; d++) {
      let mean = 0;
      for (let sample = 0; sample < samples; sample++) mean += (centredTransposed[d * samples + sample] = (random() - 0.5) * (d + 1)) / samples;
      for (let sample = 0; sample < samples; sample++) centredTransposed[d * samples + sample]! -= mean;
    }
    const projector = (basis: Float64Array) =>
      Array.from({ length: inputDims * inputDims }, (_, index) => {
        const [row, column] = [Math.floor(index / inputDims), index % inputDims];
        let sum = 0;
        for (let component = 0; component < dims; component++) sum += basis[row * dims + component]! * basis[column * dims + component]!;
        return sum;
      });
    const kernel = javascriptKernel();
    const fromCovariance = projector(await principalBasis(centredTransposed, inputDims, samples, dims, kernel, 'covariance'));
    const gramBasis = await principalBasis(centredTransposed, inputDims, samples, dims, kernel, 'gram');
    const fromGram = projector(gramBasis);
    for (let index = 0; index < fromGram.length; index++) expect(fromGram[index]).toBeCloseTo(fromCovariance[index]!, 4);
    // Orthonormal columns: the projector's trace is the number of directions.
    expect(Array.from({ length: inputDims }, (_, d) => fromGram[d * inputDims + d]!).reduce((a, b) => a + b)).toBeCloseTo(dims, 4);
    // 'auto' takes the Gram matrix here, and its result.
    expect(Array.from(await principalBasis(centredTransposed, inputDims, samples, dims, kernel))).toEqual(Array.from(gramBasis));
  });

  it('rejects shrinkage outside 0..1', async () => {
    await expect(fitWithinClassWhitening(features, { shrinkage: 2, kernel: javascriptKernel() })).rejects.toThrow(/shrinkage/);
  });
});

describe('withLabeledSpecies', () => {
  it('appends the labeled target rows, repeated, as new species after the training ones, in every view', () => {
    const train = { data: Float32Array.from([1, 1, 2, 2]), count: 2, dims: 2, labels: Int32Array.from([0, 1]), views: [Float32Array.from([-1, -1, -2, -2])] };
    const target = { data: Float32Array.from([10, 10, 20, 20, 30, 30]), count: 3, dims: 2 };
    const joined = withLabeledSpecies(train, target, Int32Array.from([1, -1, 0]), 2);
    expect(joined.count).toBe(6);
    expect(Array.from(joined.labels)).toEqual([0, 1, 3, 2, 3, 2]);
    expect(Array.from(joined.data)).toEqual([1, 1, 2, 2, 10, 10, 30, 30, 10, 10, 30, 30]);
    expect(Array.from(joined.views![0]!)).toEqual([-1, -1, -2, -2, 10, 10, 30, 30, 10, 10, 30, 30]);
  });

  it('refuses features of another size', () => {
    const train = { data: new Float32Array(4), count: 2, dims: 2, labels: Int32Array.from([0, 1]) };
    expect(() => withLabeledSpecies(train, { data: new Float32Array(3), count: 1, dims: 3 }, Int32Array.from([0]))).toThrow(/3-d/);
  });
});
