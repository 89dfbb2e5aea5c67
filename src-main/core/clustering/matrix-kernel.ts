/**
 * Float32 matrix products for clustering. Distances between many vectors and a few centers are
 * `|x|^2 - 2 x.c + |c|^2`, so the heavy part is one product `A x transpose(B)`; onnxruntime's Gemm runs it
 * on every core at tens of GFLOP/s, about 50 times faster than a plain JavaScript loop here.
 */
import { buildMatMulTransposedModel } from '../backbones/onnx-graph';

/** Computes `A x transpose(B)` for row-major float32 matrices A [rows, dims] and B [columns, dims]. */
export interface MatrixKernel {
  /** Short name for reports: `onnxruntime` or `javascript`. */
  readonly name: string;
  /** Returns the [rows, columns] product, row-major. */
  multiplyTransposed(a: Float32Array, rows: number, b: Float32Array, columns: number, dims: number): Promise<Float32Array>;
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
    async dispose() {},
  };
}

/** A kernel on onnxruntime-node's CPU Gemm using `threads` threads (default: every core). */
export async function onnxKernel(threads?: number): Promise<MatrixKernel> {
  const ort = await import('onnxruntime-node');
  const { availableParallelism } = await import('node:os');
  const session = await ort.InferenceSession.create(buildMatMulTransposedModel(), {
    intraOpNumThreads: threads ?? availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    // Idle threads sleep instead of spinning: clustering alternates products with JavaScript loops, and on
    // two cores a spinning thread takes the core the loop needs (measured: loops 2-3 times slower).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
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
    async dispose() {
      await session.release();
    },
  };
}

let sharedKernel: Promise<MatrixKernel> | undefined;

/** The fastest kernel available, created once per process; falls back to JavaScript if onnxruntime is missing. */
export function fastestKernel(): Promise<MatrixKernel> {
  sharedKernel ??= onnxKernel().catch(() => javascriptKernel());
  return sharedKernel;
}
