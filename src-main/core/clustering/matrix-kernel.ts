/**
 * Float32 matrix products for clustering. Distances between many vectors and a few centers are
 * `|x|^2 - 2 x.c + |c|^2`, so the heavy part is one product `A x transpose(B)`; onnxruntime's Gemm runs it
 * on every core at tens of GFLOP/s, about 50 times faster than a plain JavaScript loop here.
 */
import { buildMatMulTransposedModel } from '../backbones/onnx-graph';
import { MessageWriter } from '../backbones/protobuf';

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
  /** Frees native resources. */
  dispose(): Promise<void>;
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
      const values = new Float32Array(rows * 2);
      const indices = new Int32Array(rows * 2);
      for (let row = 0; row < rows; row++) {
        let best = -1;
        let second = -1;
        for (let column = 0; column < columns; column++) {
          const value = Math.fround(products[row * columns + column]! + bias[column]!);
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
    },
    async dispose() {},
  };
}

const ONNX_FLOAT = 1;
const ONNX_INT32 = 6;
const ONNX_INT64 = 7;
const ATTRIBUTE_INT = 2;

/**
 * An ONNX graph `TopK(Gemm(a, b, bias, transB = 1), k, largest = 0)` with the indices cast to int32: inputs
 * a [n, d], b [m, d], bias [m] and k [1] (int64); outputs `values` [n, k] and `indices` [n, k]. Field
 * numbers as in onnx-graph.ts (NodeProto: input 1, output 2, name 3, op_type 4, attribute 5).
 */
function buildSmallestProductsModel(): Uint8Array {
  const model = new MessageWriter();
  model.varint(1, 8); // ir_version 8
  model.text(2, 'specimen-sorter');
  model.message(7, (graph) => {
    const integerAttribute = (node: MessageWriter, name: string, value: number) =>
      node.message(5, (attribute) => attribute.text(1, name).varint(3, value).varint(20, ATTRIBUTE_INT));
    graph.message(1, (node) => {
      node.text(1, 'a').text(1, 'b').text(1, 'bias').text(2, 'scores').text(3, 'gemm').text(4, 'Gemm');
      integerAttribute(node, 'transB', 1);
    });
    graph.message(1, (node) => {
      node.text(1, 'scores').text(1, 'k').text(2, 'values').text(2, 'indices64').text(3, 'top').text(4, 'TopK');
      integerAttribute(node, 'largest', 0);
      integerAttribute(node, 'sorted', 1);
    });
    graph.message(1, (node) => {
      node.text(1, 'indices64').text(2, 'indices').text(3, 'cast').text(4, 'Cast');
      integerAttribute(node, 'to', ONNX_INT32);
    });
    graph.text(2, 'smallest_products');
    const tensor = (field: number, name: string, type: number, dims: string[]) =>
      graph.message(field, (valueInfo) => {
        valueInfo.text(1, name);
        valueInfo.message(2, (typeProto) =>
          typeProto.message(1, (tensorType) => {
            tensorType.varint(1, type);
            tensorType.message(2, (shape) => {
              for (const dim of dims) shape.message(1, (dimension) => dimension.text(2, dim));
            });
          }),
        );
      });
    tensor(11, 'a', ONNX_FLOAT, ['n', 'd']);
    tensor(11, 'b', ONNX_FLOAT, ['m', 'd']);
    tensor(11, 'bias', ONNX_FLOAT, ['m']);
    tensor(11, 'k', ONNX_INT64, ['one']);
    tensor(12, 'values', ONNX_FLOAT, ['n', 'top']);
    tensor(12, 'indices', ONNX_INT32, ['n', 'top']);
  });
  model.message(8, (opset) => opset.text(1, '').varint(2, 13));
  return model.finish();
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
  const two = new ort.Tensor('int64', BigInt64Array.from([2n]), [1]);
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
    async dispose() {
      await session.release();
      if (smallestSession) await (await smallestSession).release();
    },
  };
}

let sharedKernel: Promise<MatrixKernel> | undefined;

/** The fastest kernel available, created once per process; falls back to JavaScript if onnxruntime is missing. */
export function fastestKernel(): Promise<MatrixKernel> {
  sharedKernel ??= onnxKernel().catch(() => javascriptKernel());
  return sharedKernel;
}
