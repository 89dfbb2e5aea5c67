import { describe, expect, it } from 'vitest';
import { javascriptKernel, onnxKernel } from '../../../src-main/core/clustering/matrix-kernel';
import { quantizeColumns, quantizeRows, ROW_ZERO_POINT, transposedBlocks } from '../../../src-main/core/clustering/quantized-rows';
import { seededRandom } from '../../../src-main/core/util/random';

function randomMatrix(rows: number, dims: number, seed: number, spread = 1): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: rows * dims }, () => spread * (random() * 2 - 1) ** 3);
}

function dot(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, dims: number): number {
  let sum = 0;
  for (let index = 0; index < dims; index++) sum += a[aOffset + index]! * b[bOffset + index]!;
  return sum;
}

describe('quantizeRows', () => {
  it('rounds each row to codes around 128 with its own scale, and measures the rounding', () => {
    const quantized = quantizeRows(Float32Array.of(1, -0.25, 0, 0, -4, 4), 3, 2);
    expect(Array.from(quantized.codes)).toEqual([255, 96, 128, 128, 1, 255]);
    expect(quantized.scales[0]).toBeCloseTo(1 / 127, 7);
    // An all-zero row keeps scale 1.
    expect(quantized.scales[1]).toBe(1);
    // -0.25 became -32/127: error 0.25/127.
    expect(quantized.errors[0]).toBeCloseTo(0.25 / 127, 6);
    expect(quantized.errors[1]).toBeLessThan(1e-6);
    expect(quantized.magnitudes[2]).toBeCloseTo(Math.hypot(4, 4), 5);
    // The same pass measures the original rows.
    expect(Array.from(quantized.squaredNorms)).toEqual([1.0625, 0, 32]);
    expect(Array.from(quantized.columnSums)).toEqual([-3, 3.75]);
  });

  it('keeps every rounded row within its recorded error of the original', () => {
    const dims = 33;
    const data = randomMatrix(20, dims, 3, 5);
    const quantized = quantizeRows(data, 20, dims);
    for (let row = 0; row < 20; row++) {
      let error = 0;
      for (let index = 0; index < dims; index++) {
        const rounded = quantized.scales[row]! * (quantized.codes[row * dims + index]! - ROW_ZERO_POINT);
        error += (data[row * dims + index]! - rounded) ** 2;
      }
      expect(Math.sqrt(error)).toBeLessThanOrEqual(quantized.errors[row]!);
      expect(quantized.errors[row]!).toBeLessThan(Math.sqrt(dims) * quantized.scales[row]!);
    }
  });
});

describe('transposedBlocks', () => {
  it("lays each list's codes out as signed columns", () => {
    const rows = quantizeRows(Float32Array.of(1, 0, 0, 1, 1, 1), 3, 2);
    expect(Array.from(transposedBlocks(rows, Int32Array.of(0, 2, 3)))).toEqual([127, 0, 0, 127, 127, 127]);
  });
});

describe('quantizedProducts', () => {
  it('onnxruntime matches the JavaScript reference, rows offset and columns a list block', async () => {
    const dims = 29;
    const data = randomMatrix(40, dims, 21, 4);
    const rows = quantizeRows(data, 40, dims);
    const blocks = transposedBlocks(rows, Int32Array.of(0, 15, 40));
    const second = { codes: blocks.subarray(15 * dims), scales: rows.scales.subarray(15), columns: 25, dims };
    const fast = await onnxKernel(1);
    const actual = await fast.quantizedProducts!(rows, 3, 10, second);
    await fast.dispose();
    const expected = await javascriptKernel().quantizedProducts!(rows, 3, 10, second);
    expect(actual.length).toBe(10 * 25);
    for (let index = 0; index < actual.length; index++) expect(actual[index]).toBeCloseTo(expected[index]!, 3);
    // And close to the float products: row 3 with row 15 (the block's first column).
    expect(expected[0]).toBeCloseTo(dot(data, 3 * dims, data, 15 * dims, dims), 0);
  });
});

describe('quantizedSmallestTwo', () => {
  const rows = 61;
  const columns = 13;
  const dims = 47;
  const data = randomMatrix(rows, dims, 11, 3);
  const centers = randomMatrix(columns, dims, 12, 2);
  const bias = Float32Array.from({ length: columns }, (_, index) => index * 0.5 - 3);

  it('onnxruntime matches the JavaScript reference on the integer product', async () => {
    const a = quantizeRows(data, rows, dims);
    const b = quantizeColumns(centers, columns, dims);
    const fast = await onnxKernel(1);
    // Rows 5..54: the offset into the quantized rows is honoured.
    const actual = await fast.quantizedSmallestTwo!(a, 5, 50, b, bias);
    await fast.dispose();
    const expected = await javascriptKernel().quantizedSmallestTwo!(a, 5, 50, b, bias);
    expect(Array.from(actual.columns)).toEqual(Array.from(expected.columns));
    for (let index = 0; index < actual.values.length; index++) expect(actual.values[index]).toBeCloseTo(expected.values[index]!, 3);
  });

  it('stays within the Cauchy-Schwarz bound of the exact float products', async () => {
    const a = quantizeRows(data, rows, dims);
    const b = quantizeColumns(centers, columns, dims);
    const { values, columns: nearest } = await javascriptKernel().quantizedSmallestTwo!(a, 0, rows, b, bias);
    for (let row = 0; row < rows; row++) {
      const bound = a.magnitudes[row]! * b.largestError + a.errors[row]! * b.largestNorm;
      for (const slot of [0, 1]) {
        const column = nearest[row * 2 + slot]!;
        const exact = dot(data, row * dims, centers, column * dims, dims) + bias[column]!;
        expect(Math.abs(values[row * 2 + slot]! - exact)).toBeLessThanOrEqual(bound + 1e-4);
      }
    }
  });
});
