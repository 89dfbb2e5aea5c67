import { describe, expect, it } from 'vitest';
import { type AdapterWeights, applyAdapter, decodeAdapter, encodeAdapter, normaliseLengths, signedPower } from '../../../src-main/core/training/adapter';
import { javascriptKernel } from '../../../src-main/core/clustering/matrix-kernel';

const linear = (mean: number[], w1: number[], b1: number[], normaliseOutput: boolean): AdapterWeights => ({
  inputDims: 2, hiddenDims: 0, outputDims: 2, inputMean: Float32Array.from(mean), inputScale: 1,
  w1: Float32Array.from(w1), b1: Float32Array.from(b1), w2: new Float32Array(0), b2: new Float32Array(0), normaliseOutput,
});

describe('adapter chains and unit-length outputs', () => {
  it('scales rows to unit length and leaves zero rows alone', () => {
    const data = Float32Array.of(3, 4, 0, 0);
    normaliseLengths(data, 2);
    expect(Array.from(data)).toEqual([Math.fround(0.6), Math.fround(0.8), 0, 0]);
  });

  it('applies `before` first, then its own map, then normalises; survives encode and decode', async () => {
    // before: ((2, 3) - (1, 0)) [[2, 0], [0, 1]] = (2, 3); after: (2, 3) [[1, 1], [0, 1]] + (0, 1) = (2, 6);
    // unit length: (2, 6) / sqrt(40) = (0.316228, 0.948683).
    const chain = { ...linear([0, 0], [1, 1, 0, 1], [0, 1], true), before: linear([1, 0], [2, 0, 0, 1], [0, 0], false) };
    const input = { data: Float32Array.of(2, 3), count: 1, dims: 2 };
    for (const weights of [chain, decodeAdapter(encodeAdapter(chain))]) {
      const out = await applyAdapter(weights, input, javascriptKernel());
      expect(out.data[0]).toBeCloseTo(0.316228, 5);
      expect(out.data[1]).toBeCloseTo(0.948683, 5);
    }
    expect(decodeAdapter(encodeAdapter(chain)).before?.normaliseOutput).toBe(false);
  });

  it('raises inputs to the input power, keeping signs, before centring; the power survives encode and decode', async () => {
    expect(Array.from(signedPower(Float32Array.of(4, -9, 0, 0.25), 0.5))).toEqual([2, -3, 0, 0.5]);
    expect(Array.from(signedPower(Float32Array.of(8, -27), 1 / 3)).map((value) => Number(value.toFixed(5)))).toEqual([2, -3]);
    const same = Float32Array.of(1, 2);
    expect(signedPower(same, 1)).toBe(same);
    expect(() => signedPower(same, 0)).toThrow(/positive/);
    // (4, 9) ^ 0.5 = (2, 3), then the same chain as above: (0.316228, 0.948683).
    const chain = { ...linear([0, 0], [1, 1, 0, 1], [0, 1], true), before: { ...linear([1, 0], [2, 0, 0, 1], [0, 0], false), inputPower: 0.5 } };
    const decoded = decodeAdapter(encodeAdapter(chain));
    expect(decoded.before?.inputPower).toBe(0.5);
    expect(decoded.inputPower).toBeUndefined();
    for (const weights of [chain, decoded]) {
      const out = await applyAdapter(weights, { data: Float32Array.of(4, 9), count: 1, dims: 2 }, javascriptKernel());
      expect(out.data[0]).toBeCloseTo(0.316228, 5);
      expect(out.data[1]).toBeCloseTo(0.948683, 5);
    }
  });

  it('keeps a fine-tuned last block through encode and decode, after the `before` chain', () => {
    const lastBlock = { inputs: 3, outputs: 2, activation: 'relu6' as const, weight: Float32Array.of(1, 2, 3, 4, 5, 6), bias: Float32Array.of(-1, 0.5) };
    const weights = { ...linear([0, 0], [1, 1, 0, 1], [0, 1], true), before: linear([1, 0], [2, 0, 0, 1], [0, 0], false), lastBlock };
    const decoded = decodeAdapter(encodeAdapter(weights));
    expect(decoded.lastBlock).toEqual(lastBlock);
    expect(Array.from(decoded.before!.w1)).toEqual([2, 0, 0, 1]);
    expect(decodeAdapter(encodeAdapter(linear([0, 0], [1, 0, 0, 1], [0, 0], false))).lastBlock).toBeUndefined();
  });
});
