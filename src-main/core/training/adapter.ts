/**
 * The trainable adapter head over frozen backbone features: centre and scale the features, then a
 * two-layer perceptron (ReLU) into a new embedding space where images of one species lie close together.
 * Applied to every image with the fast matrix kernel, so re-embedding a project takes seconds.
 */
import { fastestKernel, type MatrixKernel } from '../clustering/matrix-kernel';
import type { VectorSet } from '../clustering/kmeans';
import type { LastBlockWeights } from '../backbones/tfjs-to-onnx';

/** Adapter weights, row-major float32 ([in, out] for each layer). */
export interface AdapterWeights {
  inputDims: number;
  hiddenDims: number;
  outputDims: number;
  /**
   * Power applied to each input feature before centring, keeping its sign (|x|^p sign(x), Tukey's ladder of
   * powers as in transductive few-shot learning, Hu et al. 2021): p 0.5 evens out the skewed, non-negative
   * pooled activations of a CNN. Absent or 1: none.
   */
  inputPower?: number;
  /** Subtracted from each input feature (the training set's mean, after any inputPower). */
  inputMean: Float32Array;
  /** Inputs are divided by this after centring (the training set's root mean square deviation). */
  inputScale: number;
  /** Residual linear adapter: output = normalised input + input W1 + b1 (hiddenDims 0, outputDims = inputDims). */
  residual?: boolean;
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
  /** Divide each output by its Euclidean length (cosine geometry): whitened features cluster far better so. */
  normaliseOutput?: boolean;
  /** An adapter applied first (e.g. within-class whitening fitted on the training species); this one maps its output. */
  before?: AdapterWeights;
  /**
   * The backbone's fine-tuned last block whose features this adapter maps (last-block training): the
   * project's features come from the backbone run with these weights (`lastBlock` backbones).
   */
  lastBlock?: LastBlockWeights;
}

/** Transposes a row-major [rows, columns] matrix. */
export function transpose(matrix: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(matrix.length);
  for (let row = 0; row < rows; row++) for (let column = 0; column < columns; column++) out[column * rows + row] = matrix[row * columns + column]!;
  return out;
}

/** Mean and scale that normalise a feature matrix; the adapter stores them. */
export function featureNormalisation(vectors: VectorSet): { mean: Float32Array; scale: number } {
  const { data, count, dims } = vectors;
  const sum = new Float64Array(dims);
  for (let row = 0; row < count; row++) for (let index = 0; index < dims; index++) sum[index] = sum[index]! + data[row * dims + index]!;
  const mean = Float32Array.from(sum, (value) => value / count);
  let squares = 0;
  for (let row = 0; row < count; row++) for (let index = 0; index < dims; index++) squares += (data[row * dims + index]! - mean[index]!) ** 2;
  return { mean, scale: Math.sqrt(squares / (count * dims)) || 1 };
}

/**
 * Each value raised to `power` with its sign kept: a copy, or the same array when power is 1.
 *
 * signedPower(Float32Array.from([4, -9, 0]), 0.5) // Float32Array [2, -3, 0]
 */
export function signedPower(data: Float32Array, power: number): Float32Array {
  if (power === 1) return data;
  const raise = signedPowerOf(power);
  return data.map(raise);
}

/** The function x -> |x|^power sign(x); a square root for 0.5, the common case, which is about 10 times faster than `**`. */
function signedPowerOf(power: number): (value: number) => number {
  if (!(power > 0)) throw new Error(`The input power must be positive, not ${power}.`);
  if (power === 0.5) return (value) => (value < 0 ? -Math.sqrt(-value) : Math.sqrt(value));
  return (value) => (value < 0 ? -((-value) ** power) : value ** power);
}

/** Centres and scales rows (after any signed power) as the adapter's first step. */
export function normaliseRows(data: Float32Array, count: number, dims: number, mean: Float32Array, scale: number, power = 1): Float32Array {
  const out = new Float32Array(count * dims);
  const source = power === 1 ? data.subarray(0, count * dims) : signedPower(data.subarray(0, count * dims), power);
  for (let row = 0; row < count; row++) {
    for (let index = 0; index < dims; index++) out[row * dims + index] = (source[row * dims + index]! - mean[index]!) / scale;
  }
  return out;
}

/**
 * Maps backbone features through the adapter.
 *
 * await applyAdapter(weights, { data, count: 2, dims: 1280 }) // { data: Float32Array(2 * 256), count: 2, dims: 256 }
 */
export async function applyAdapter(weights: AdapterWeights, vectors: VectorSet, kernel?: MatrixKernel): Promise<VectorSet> {
  if (weights.before) vectors = await applyAdapter(weights.before, vectors, kernel);
  const mapped = await applyLayers(weights, vectors, kernel);
  if (weights.normaliseOutput) normaliseLengths(mapped.data, mapped.dims);
  return mapped;
}

/** Divides each row by its Euclidean length in place (zero rows stay zero). */
export function normaliseLengths(data: Float32Array, dims: number): void {
  for (let start = 0; start < data.length; start += dims) {
    let sum = 0;
    for (let index = start; index < start + dims; index++) sum += data[index]! ** 2;
    const length = Math.sqrt(sum);
    if (length > 0) for (let index = start; index < start + dims; index++) data[index] = data[index]! / length;
  }
}

async function applyLayers(weights: AdapterWeights, vectors: VectorSet, kernel?: MatrixKernel): Promise<VectorSet> {
  if (vectors.dims !== weights.inputDims) {
    throw new Error(`The adapter expects ${weights.inputDims}-d features but got ${vectors.dims}-d: it was trained on another backbone.`);
  }
  const matrices = kernel ?? (await fastestKernel());
  // hiddenDims 0: a single linear map stored in w1/b1.
  const linear = weights.hiddenDims === 0;
  const firstWidth = linear ? weights.outputDims : weights.hiddenDims;
  const w1t = transpose(weights.w1, weights.inputDims, firstWidth);
  const w2t = linear ? null : transpose(weights.w2, weights.hiddenDims, weights.outputDims);
  const out = new Float32Array(vectors.count * weights.outputDims);
  const chunk = 4096;
  for (let start = 0; start < vectors.count; start += chunk) {
    const rows = Math.min(chunk, vectors.count - start);
    const input = normaliseRows(
      vectors.data.subarray(start * vectors.dims, (start + rows) * vectors.dims),
      rows,
      vectors.dims,
      weights.inputMean,
      weights.inputScale,
      weights.inputPower ?? 1,
    );
    const first = await matrices.multiplyTransposed(input, rows, w1t, firstWidth, weights.inputDims);
    if (!w2t) {
      for (let index = 0; index < first.length; index++) first[index] = first[index]! + weights.b1[index % firstWidth]! + (weights.residual ? input[index]! : 0);
      out.set(first, start * weights.outputDims);
      continue;
    }
    for (let index = 0; index < first.length; index++) first[index] = Math.max(0, first[index]! + weights.b1[index % firstWidth]!);
    const output = await matrices.multiplyTransposed(first, rows, w2t, weights.outputDims, weights.hiddenDims);
    for (let index = 0; index < output.length; index++) output[index] = output[index]! + weights.b2[index % weights.outputDims]!;
    out.set(output, start * weights.outputDims);
  }
  return { data: out, count: vectors.count, dims: weights.outputDims };
}

/**
 * Serialises weights to one buffer for the database: a JSON header line, the float32 arrays, then any
 * `before` adapter's buffer, then any last block's weight and bias.
 */
export function encodeAdapter(weights: AdapterWeights): Buffer {
  const arrays = [weights.inputMean, weights.w1, weights.b1, weights.w2, weights.b2];
  const before = weights.before ? encodeAdapter(weights.before) : null;
  const block = weights.lastBlock;
  const header = JSON.stringify({
    format: 'specimen-sorter-adapter-1',
    inputDims: weights.inputDims,
    hiddenDims: weights.hiddenDims,
    outputDims: weights.outputDims,
    inputScale: weights.inputScale,
    ...(weights.inputPower !== undefined ? { inputPower: weights.inputPower } : {}),
    residual: weights.residual ?? false,
    normaliseOutput: weights.normaliseOutput ?? false,
    beforeBytes: before ? before.length : 0,
    lengths: arrays.map((array) => array.length),
    ...(block ? { lastBlock: { inputs: block.inputs, outputs: block.outputs, activation: block.activation } } : {}),
  });
  const headerBytes = Buffer.from(`${header}\n`, 'utf8');
  const padding = (4 - (headerBytes.length % 4)) % 4;
  return Buffer.concat([
    headerBytes,
    Buffer.alloc(padding, 0x20),
    ...arrays.map((array) => Buffer.from(array.buffer, array.byteOffset, array.byteLength)),
    ...(before ? [before] : []),
    ...(block ? [block.weight, block.bias].map((array) => Buffer.from(array.buffer, array.byteOffset, array.byteLength)) : []),
  ]);
}

/** Reads weights written by `encodeAdapter`. */
export function decodeAdapter(buffer: Buffer): AdapterWeights {
  const newline = buffer.indexOf(0x0a);
  const header = JSON.parse(buffer.subarray(0, newline).toString('utf8')) as {
    format: string;
    inputDims: number;
    hiddenDims: number;
    outputDims: number;
    inputScale: number;
    inputPower?: number;
    residual?: boolean;
    normaliseOutput?: boolean;
    beforeBytes?: number;
    lengths: number[];
    lastBlock?: { inputs: number; outputs: number; activation: LastBlockWeights['activation'] };
  };
  if (header.format !== 'specimen-sorter-adapter-1') throw new Error(`Unknown adapter format ${header.format}`);
  let offset = newline + 1;
  offset += (4 - (offset % 4)) % 4;
  const arrays = header.lengths.map((length) => {
    const array = new Float32Array(length);
    Buffer.from(array.buffer).set(buffer.subarray(offset, offset + length * 4));
    offset += length * 4;
    return array;
  });
  const [inputMean, w1, b1, w2, b2] = arrays as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
  const before = header.beforeBytes ? decodeAdapter(buffer.subarray(offset, offset + header.beforeBytes)) : null;
  offset += header.beforeBytes ?? 0;
  let lastBlock: LastBlockWeights | undefined;
  if (header.lastBlock) {
    const { inputs, outputs, activation } = header.lastBlock;
    const floats = (length: number) => {
      const array = new Float32Array(length);
      Buffer.from(array.buffer).set(buffer.subarray(offset, offset + length * 4));
      offset += length * 4;
      return array;
    };
    lastBlock = { inputs, outputs, activation, weight: floats(inputs * outputs), bias: floats(outputs) };
  }
  return {
    inputDims: header.inputDims,
    hiddenDims: header.hiddenDims,
    outputDims: header.outputDims,
    inputScale: header.inputScale,
    ...(header.inputPower !== undefined ? { inputPower: header.inputPower } : {}),
    residual: header.residual ?? false,
    normaliseOutput: header.normaliseOutput ?? false,
    ...(before ? { before } : {}),
    ...(lastBlock ? { lastBlock } : {}),
    inputMean,
    w1,
    b1,
    w2,
    b2,
  };
}
