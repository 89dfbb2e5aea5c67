/**
 * The onnxruntime matrix kernel with its thread pool told not to spin. By default onnxruntime's worker
 * threads busy-wait for a while after each product; spectral clustering alternates products with
 * JavaScript loops (top-k selection, sparse products, small eigenproblems), and on two cores the spinning
 * thread takes the core that JavaScript needs. Measured here (2 cores, a 10000 x 165 by 165 x 55 product
 * followed by a 1.6-million-element loop): the loop took 6.5-9.1 ms with spinning and 2.4-3.5 ms without,
 * and the product itself got faster too (8.8-9.9 ms against 5.7-6.9 ms).
 */
import { buildMatMulTransposedModel } from '../backbones/onnx-graph';
import { javascriptKernel, type MatrixKernel } from './matrix-kernel';

/** An onnxruntime Gemm kernel (`A x transpose(B)`) whose idle threads sleep instead of spinning. */
export async function quietOnnxKernel(threads?: number): Promise<MatrixKernel> {
  const ort = await import('onnxruntime-node');
  const { availableParallelism } = await import('node:os');
  const options: Parameters<typeof ort.InferenceSession.create>[1] = {
    intraOpNumThreads: threads ?? availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    // Session config key "session.intra_op.allow_spinning" (onnxruntime_session_options_config_keys.h).
    extra: { session: { 'intra_op.allow_spinning': '0' } },
  };
  const session = await ort.InferenceSession.create(buildMatMulTransposedModel(), options);
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

let quietKernelInstance: Promise<MatrixKernel> | undefined;

/** The quiet onnxruntime kernel, created once per process; falls back to JavaScript if onnxruntime is missing. */
export function sharedQuietKernel(): Promise<MatrixKernel> {
  quietKernelInstance ??= quietOnnxKernel().catch(() => javascriptKernel());
  return quietKernelInstance;
}
