/**
 * Runs a TF.js layers model as a feature extractor with @tensorflow/tfjs on the WebAssembly backend
 * (pure-JS cpu as the last resort). Classifier heads (trailing Dense, Dropout, Activation layers, or a
 * nested Sequential made only of them) are dropped, so the output is the pooled penultimate layer.
 */
import type { PixelPreprocessing } from '../images/decode';
import type { Backbone } from './backbone';
import { readyTf } from './tfjs-runtime';
import { readTfjsArtifacts } from './tfjs-artifacts';

type LayersModel = import('@tensorflow/tfjs').LayersModel;
type Layer = import('@tensorflow/tfjs').layers.Layer;

const HEAD_LAYERS = new Set(['Dense', 'Dropout', 'Activation', 'Softmax', 'Flatten']);

function isHead(layer: Layer): boolean {
  if (HEAD_LAYERS.has(layer.getClassName())) return true;
  const nested = (layer as unknown as { layers?: Layer[] }).layers;
  return Array.isArray(nested) && nested.length > 0 && nested.every(isHead);
}

/** Loads a TF.js layers model folder (`model.json` plus weights) as a feature extractor. */
export async function loadTfjsBackbone(
  modelJsonPath: string,
  identity: { id: string; name: string; source: string },
  preprocessing: PixelPreprocessing,
  featureLayer?: string,
  backend: 'wasm' | 'cpu' = 'wasm',
): Promise<Backbone> {
  const { tf, runtime } = await readyTf(backend);
  const artifacts = await readTfjsArtifacts(modelJsonPath);
  const model: LayersModel = await tf.loadLayersModel(tf.io.fromMemory(artifacts as Parameters<typeof tf.io.fromMemory>[0]));
  let apply: (input: import('@tensorflow/tfjs').Tensor) => import('@tensorflow/tfjs').Tensor;
  if (featureLayer) {
    const features = tf.model({ inputs: model.inputs, outputs: model.getLayer(featureLayer).output as import('@tensorflow/tfjs').SymbolicTensor });
    apply = (input) => features.predict(input) as import('@tensorflow/tfjs').Tensor;
  } else {
    const kept = [...model.layers];
    while (kept.length > 1 && isHead(kept.at(-1)!)) kept.pop();
    apply = (input) => kept.reduce((value, layer) => layer.apply(value) as import('@tensorflow/tfjs').Tensor, input);
  }
  const { size } = preprocessing;
  const dims = tf.tidy(() => apply(tf.zeros([1, size, size, 3])).shape.at(-1)!);
  return {
    ...identity,
    format: 'tfjs',
    runtime,
    dims,
    preprocessing,
    async embed(batch, count) {
      const output = tf.tidy(() => apply(tf.tensor4d(batch, [count, size, size, 3])).reshape([count, dims]));
      const data = (await output.data()) as Float32Array;
      output.dispose();
      return new Float32Array(data);
    },
    async dispose() {
      model.dispose();
    },
  };
}
