/**
 * Float32 matrix products for clustering. Distances between many vectors and a few centers are
 * `|x|^2 - 2 x.c + |c|^2`, so the heavy part is one product `A x transpose(B)`; onnxruntime's Gemm runs it
 * on every core at tens of GFLOP/s, about 50 times faster than a plain JavaScript loop here.
 */
import { buildMatMulTransposedModel } from '../backbones/onnx-graph';
import { MessageWriter } from '../backbones/protobuf';
import { type QuantizedColumns, ROW_ZERO_POINT, type RowCodes } from './quantized-rows';

/** Per row, the two smallest entries of a product plus bias and their columns, as `smallestTwo` returns them. */
export interface SmallestTwo {
  /** [rows, 2] row-major: the smallest, then the second smallest. */
  values: Float32Array;
  /** [rows, 2] row-major: their columns; on ties the lower column first. */
  columns: Int32Array;
}

/** Computes `A x transpose(B)` for row-major float32 matrices A [rows, dims] and B [columns, dims]. */
export interface MatrixKernel {
  /** Short name for reports: `onnxruntime` or `javascript`. */
  readonly name: string;
  /** Returns the [rows, columns] product, row-major. */
  multiplyTransposed(a: Float32Array, rows: number, b: Float32Array, columns: number, dims: number): Promise<Float32Array>;
  /**
   * Per row of A, the two smallest entries of `A x transpose(B) + bias` (bias [columns], columns >= 2).
   *
   * K-means needs only each row's nearest and second-nearest center, not the whole [rows, columns]
   * product: with B = -2 x centers and bias = |center|^2 this returns `|x - c|^2 - |x|^2` for both. Optional;
   * callers fall back to `multiplyTransposed`.
   */
  smallestTwo?(a: Float32Array, rows: number, b: Float32Array, columns: number, dims: number, bias: Float32Array): Promise<SmallestTwo>;
  /**
   * `smallestTwo` on 8-bit codes: per row r of `a` (rows `first`..`first + rows - 1` of the quantized
   * rows), the two smallest of `a.scales[r] x b.scales[c] x (a.codes[r] - 128).b.codes[c] + bias[c]` over the
   * columns c, from an integer product. The caller bounds the rounding error (see quantized-rows.ts).
   * Optional; only kernels with a fast integer product have it.
   */
  quantizedSmallestTwo?(a: RowCodes, first: number, rows: number, b: QuantizedColumns, bias: Float32Array): Promise<SmallestTwo>;
  /**
   * The [rows, b.columns] products `a.scales[r] x b.scales[c] x (a.codes[r] - 128).b.codes[c]` of rows
   * `first`..`first + rows - 1` of `a`: dot products of the rounded vectors, from an integer product.
   * Optional, like quantizedSmallestTwo.
   */
  quantizedProducts?(a: RowCodes, first: number, rows: number, b: QuantizedColumns): Promise<Float32Array>;
  /** Frees native resources. */
  dispose(): Promise<void>;
}

/** Per row of a [rows, columns] matrix, its two smallest entries and their columns (ties: lower column first). */
function smallestTwoOf(scores: Float32Array, rows: number, columns: number): SmallestTwo {
  const values = new Float32Array(rows * 2);
  const indices = new Int32Array(rows * 2);
  for (let row = 0; row < rows; row++) {
    let best = -1;
    let second = -1;
    for (let column = 0; column < columns; column++) {
      const value = scores[row * columns + column]!;
      if (best < 0 || value < values[row * 2]!) {
        [second, values[row * 2 + 1]] = [best, values[row * 2]!];
        [best, values[row * 2]] = [column, value];
      } else if (second < 0 || value < values[row * 2 + 1]!) {
        [second, values[row * 2 + 1]] = [column, value];
      }
    }
    indices[row * 2] = best;
    indices[row * 2 + 1] = second;
  }
  return { values, columns: indices };
}

/** A plain JavaScript kernel: slow, dependency-free, and the reference the fast one is tested against. */
export function javascriptKernel(): MatrixKernel {
  return {
    name: 'javascript',
    async multiplyTransposed(a, rows, b, columns, dims) {
      const out = new Float32Array(rows * columns);
      for (let row = 0; row < rows; row++) {
        const aOffset = row * dims;
        for (let column = 0; column < columns; column++) {
          const bOffset = column * dims;
          let sum = 0;
          for (let index = 0; index < dims; index++) sum += a[aOffset + index]! * b[bOffset + index]!;
          out[row * columns + column] = sum;
        }
      }
      return out;
    },
    async smallestTwo(a, rows, b, columns, dims, bias) {
      if (columns < 2) throw new Error('smallestTwo needs at least 2 columns.');
      const products = await this.multiplyTransposed(a, rows, b, columns, dims);
      for (let row = 0; row < rows; row++) {
        for (let column = 0; column < columns; column++) products[row * columns + column] = Math.fround(products[row * columns + column]! + bias[column]!);
      }
      return smallestTwoOf(products, rows, columns);
    },
    async quantizedSmallestTwo(a, first, rows, b, bias) {
      if (b.columns < 2) throw new Error('quantizedSmallestTwo needs at least 2 columns.');
      const scores = await this.quantizedProducts!(a, first, rows, b);
      for (let line = 0; line < rows; line++) {
        for (let column = 0; column < b.columns; column++) scores[line * b.columns + column] = scores[line * b.columns + column]! + bias[column]!;
      }
      return smallestTwoOf(scores, rows, b.columns);
    },
    async quantizedProducts(a, first, rows, b) {
      const { dims } = a;
      const { columns } = b;
      // Exact integer products, then the scales: the reference the onnxruntime graphs are tested against.
      const products = new Float32Array(rows * columns);
      for (let line = 0; line < rows; line++) {
        const offset = (first + line) * dims;
        for (let column = 0; column < columns; column++) {
          let product = 0;
          for (let index = 0; index < dims; index++) product += (a.codes[offset + index]! - ROW_ZERO_POINT) * b.codes[index * columns + column]!;
          products[line * columns + column] = a.scales[first + line]! * b.scales[column]! * product;
        }
      }
      return products;
    },
    async dispose() {},
  };
}

/** ONNX element types (TensorProto.DataType) used by the small graphs built here and in training. */
export const ONNX_FLOAT = 1;
const ONNX_UINT8 = 2;
const ONNX_INT8 = 3;
const ONNX_INT32 = 6;
export const ONNX_INT64 = 7;
export const ONNX_BOOL = 9;
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_INTS = 7;

/** One node of a small ONNX graph; attributes are integers or lists of integers. */
export interface GraphNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, number | number[]>;
}

/** A graph input or output: name, ONNX element type and symbolic dimensions. */
export type GraphValue = [name: string, type: number, dims: string[]];

/**
 * Serialises a single-graph ONNX model (opset 13). Field numbers as in onnx-graph.ts (NodeProto: input 1,
 * output 2, name 3, op_type 4, attribute 5; GraphProto: node 1, name 2, input 11, output 12).
 */
export function buildGraphModel(name: string, nodes: GraphNode[], inputs: GraphValue[], outputs: GraphValue[]): Uint8Array {
  const model = new MessageWriter();
  model.varint(1, 8); // ir_version 8
  model.text(2, 'specimen-sorter');
  model.message(7, (graph) => {
    for (const [index, { op, inputs: from, outputs: to, attributes = {} }] of nodes.entries()) {
      graph.message(1, (node) => {
        for (const input of from) node.text(1, input);
        for (const output of to) node.text(2, output);
        node.text(3, `${op.toLowerCase()}_${index}`).text(4, op);
        for (const [attribute, value] of Object.entries(attributes)) {
          node.message(5, (message) => {
            message.text(1, attribute);
            if (Array.isArray(value)) {
              for (const each of value) message.varint(8, each);
              message.varint(20, ATTRIBUTE_INTS);
            } else message.varint(3, value).varint(20, ATTRIBUTE_INT);
          });
        }
      });
    }
    graph.text(2, name);
    const tensor = (field: number, [valueName, type, dims]: GraphValue) =>
      graph.message(field, (valueInfo) => {
        valueInfo.text(1, valueName);
        valueInfo.message(2, (typeProto) =>
          typeProto.message(1, (tensorType) => {
            tensorType.varint(1, type);
            tensorType.message(2, (shape) => {
              for (const dim of dims) shape.message(1, (dimension) => dimension.text(2, dim));
            });
          }),
        );
      });
    for (const input of inputs) tensor(11, input);
    for (const output of outputs) tensor(12, output);
  });
  model.message(8, (opset) => opset.text(1, '').varint(2, 13));
  return model.finish();
}

/** The two smallest scores per row (sorted), with their indices cast to int32. */
const SMALLEST_TWO_NODES: GraphNode[] = [
  { op: 'TopK', inputs: ['scores', 'k'], outputs: ['values', 'indices64'], attributes: { largest: 0, sorted: 1 } },
  { op: 'Cast', inputs: ['indices64'], outputs: ['indices'], attributes: { to: ONNX_INT32 } },
];
const SMALLEST_TWO_OUTPUTS: GraphValue[] = [
  ['values', ONNX_FLOAT, ['n', 'top']],
  ['indices', ONNX_INT32, ['n', 'top']],
];

/** `TopK(Gemm(a, b, bias, transB = 1), k, largest = 0)`: inputs a [n, d], b [m, d], bias [m], k [1] (int64). */
function buildSmallestProductsModel(): Uint8Array {
  return buildGraphModel(
    'smallest_products',
    [{ op: 'Gemm', inputs: ['a', 'b', 'bias'], outputs: ['scores'], attributes: { transB: 1 } }, ...SMALLEST_TWO_NODES],
    [
      ['a', ONNX_FLOAT, ['n', 'd']],
      ['b', ONNX_FLOAT, ['m', 'd']],
      ['bias', ONNX_FLOAT, ['m']],
      ['k', ONNX_INT64, ['one']],
    ],
    SMALLEST_TWO_OUTPUTS,
  );
}

/** `float(MatMulInteger(a, b, a_zero)) x column_scales x row_scales`, as `scaled`. */
const SCALED_INTEGER_PRODUCT_NODES: GraphNode[] = [
  { op: 'MatMulInteger', inputs: ['a', 'b', 'a_zero'], outputs: ['integer_products'] },
  { op: 'Cast', inputs: ['integer_products'], outputs: ['products'], attributes: { to: ONNX_FLOAT } },
  { op: 'Mul', inputs: ['products', 'column_scales'], outputs: ['column_scaled'] },
  { op: 'Mul', inputs: ['column_scaled', 'row_scales'], outputs: ['scaled'] },
];
/** Inputs a [n, d] uint8, a_zero (scalar uint8), b [d, m] int8, row_scales [n, 1], column_scales [m]. */
const SCALED_INTEGER_PRODUCT_INPUTS: GraphValue[] = [
  ['a', ONNX_UINT8, ['n', 'd']],
  ['a_zero', ONNX_UINT8, []],
  ['b', ONNX_INT8, ['d', 'm']],
  ['row_scales', ONNX_FLOAT, ['n', 'one']],
  ['column_scales', ONNX_FLOAT, ['m']],
];

/** The scaled integer product, output `scaled` [n, m]. */
function buildQuantizedProductsModel(): Uint8Array {
  return buildGraphModel('quantized_products', SCALED_INTEGER_PRODUCT_NODES, SCALED_INTEGER_PRODUCT_INPUTS, [['scaled', ONNX_FLOAT, ['n', 'm']]]);
}

/** The two smallest of the scaled integer product plus bias [m] per row, as buildSmallestProductsModel (k [1] int64). */
function buildQuantizedSmallestProductsModel(): Uint8Array {
  return buildGraphModel(
    'quantized_smallest_products',
    [...SCALED_INTEGER_PRODUCT_NODES, { op: 'Add', inputs: ['scaled', 'bias'], outputs: ['scores'] }, ...SMALLEST_TWO_NODES],
    [...SCALED_INTEGER_PRODUCT_INPUTS, ['bias', ONNX_FLOAT, ['m']], ['k', ONNX_INT64, ['one']]],
    SMALLEST_TWO_OUTPUTS,
  );
}

/** A kernel on onnxruntime-node's CPU Gemm using `threads` threads (default: every core). */
export async function onnxKernel(threads?: number): Promise<MatrixKernel> {
  const ort = await import('onnxruntime-node');
  const { availableParallelism } = await import('node:os');
  const sessionOptions = {
    intraOpNumThreads: threads ?? availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all' as const,
    // Idle threads sleep instead of spinning: clustering alternates products with JavaScript loops, and on
    // two cores a spinning thread takes the core the loop needs (measured: loops 2-3 times slower).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  const session = await ort.InferenceSession.create(buildMatMulTransposedModel(), sessionOptions);
  // Created on first use: most callers only multiply.
  let smallestSession: ReturnType<typeof ort.InferenceSession.create> | undefined;
  let quantizedSmallestSession: ReturnType<typeof ort.InferenceSession.create> | undefined;
  let quantizedProductsSession: ReturnType<typeof ort.InferenceSession.create> | undefined;
  const two = new ort.Tensor('int64', BigInt64Array.from([2n]), [1]);
  const rowZeroPoint = new ort.Tensor('uint8', Uint8Array.of(ROW_ZERO_POINT), []);
  /** The inputs of the scaled integer product for rows `first`.. of `a` against `b`. */
  const integerProductFeeds = (a: RowCodes, first: number, rows: number, b: QuantizedColumns) => ({
    a: new ort.Tensor('uint8', a.codes.subarray(first * a.dims, (first + rows) * a.dims), [rows, a.dims]),
    a_zero: rowZeroPoint,
    b: new ort.Tensor('int8', b.codes.subarray(0, a.dims * b.columns), [a.dims, b.columns]),
    row_scales: new ort.Tensor('float32', a.scales.subarray(first, first + rows), [rows, 1]),
    column_scales: new ort.Tensor('float32', b.scales.subarray(0, b.columns), [b.columns]),
  });
  return {
    name: 'onnxruntime',
    async multiplyTransposed(a, rows, b, columns, dims) {
      const result = await session.run({
        a: new ort.Tensor('float32', a.subarray(0, rows * dims), [rows, dims]),
        b: new ort.Tensor('float32', b.subarray(0, columns * dims), [columns, dims]),
      });
      return result.output!.data as Float32Array;
    },
    async smallestTwo(a, rows, b, columns, dims, bias) {
      if (columns < 2) throw new Error('smallestTwo needs at least 2 columns.');
      smallestSession ??= ort.InferenceSession.create(buildSmallestProductsModel(), sessionOptions);
      const result = await (await smallestSession).run({
        a: new ort.Tensor('float32', a.subarray(0, rows * dims), [rows, dims]),
        b: new ort.Tensor('float32', b.subarray(0, columns * dims), [columns, dims]),
        bias: new ort.Tensor('float32', bias.subarray(0, columns), [columns]),
        k: two,
      });
      return { values: result.values!.data as Float32Array, columns: result.indices!.data as Int32Array };
    },
    async quantizedSmallestTwo(a, first, rows, b, bias) {
      if (b.columns < 2) throw new Error('quantizedSmallestTwo needs at least 2 columns.');
      quantizedSmallestSession ??= ort.InferenceSession.create(buildQuantizedSmallestProductsModel(), sessionOptions);
      const result = await (await quantizedSmallestSession).run({
        ...integerProductFeeds(a, first, rows, b),
        bias: new ort.Tensor('float32', bias.subarray(0, b.columns), [b.columns]),
        k: two,
      });
      return { values: result.values!.data as Float32Array, columns: result.indices!.data as Int32Array };
    },
    async quantizedProducts(a, first, rows, b) {
      quantizedProductsSession ??= ort.InferenceSession.create(buildQuantizedProductsModel(), sessionOptions);
      const result = await (await quantizedProductsSession).run(integerProductFeeds(a, first, rows, b));
      return result.scaled!.data as Float32Array;
    },
    async dispose() {
      await session.release();
      if (smallestSession) await (await smallestSession).release();
      if (quantizedSmallestSession) await (await quantizedSmallestSession).release();
      if (quantizedProductsSession) await (await quantizedProductsSession).release();
    },
  };
}

let sharedKernel: Promise<MatrixKernel> | undefined;

/** The fastest kernel available, created once per process; falls back to JavaScript if onnxruntime is missing. */
export function fastestKernel(): Promise<MatrixKernel> {
  sharedKernel ??= onnxKernel().catch(() => javascriptKernel());
  return sharedKernel;
}
