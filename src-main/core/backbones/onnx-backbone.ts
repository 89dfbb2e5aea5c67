/** Runs an ONNX classifier as a feature extractor on onnxruntime-node's CPU provider. */
import { availableParallelism } from 'node:os';
import type { PixelPreprocessing } from '../images/decode';
import type { Backbone } from './backbone';
import { exposePooledFeatures, FEATURES_OUTPUT } from './onnx-graph';

/** Loads ONNX bytes, exposing the pooled penultimate layer as the feature output. */
export async function loadOnnxBackbone(
  bytes: Uint8Array,
  identity: { id: string; name: string; source: string },
  preprocessing: PixelPreprocessing,
  featureTensor?: string,
  format: 'onnx' | 'tfjs' = 'onnx',
): Promise<Backbone> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(exposePooledFeatures(bytes, featureTensor), {
    intraOpNumThreads: availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    // Idle inference threads must not spin: image decoding shares the same cores between batches.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const inputName = session.inputNames[0]!;
  const { size, layout } = preprocessing;
  const shape = (count: number) => (layout === 'nchw' ? [count, 3, size, size] : [count, size, size, 3]);
  const probe = await session.run({ [inputName]: new ort.Tensor('float32', new Float32Array(3 * size * size), shape(1)) }, [FEATURES_OUTPUT]);
  const dims = probe[FEATURES_OUTPUT]!.dims[1]!;
  return {
    ...identity,
    format,
    runtime: 'onnxruntime-cpu',
    dims,
    preprocessing,
    async embed(batch, count) {
      const result = await session.run({ [inputName]: new ort.Tensor('float32', batch, shape(count)) }, [FEATURES_OUTPUT]);
      return new Float32Array(result[FEATURES_OUTPUT]!.data as Float32Array);
    },
    async dispose() {
      await session.release();
    },
  };
}
