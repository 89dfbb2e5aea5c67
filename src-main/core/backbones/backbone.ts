/** A loaded image model that turns preprocessed pixels into feature vectors. */
import type { PixelPreprocessing } from '../images/decode';

/** Runtimes that can run a backbone, fastest first. */
export type BackboneRuntime = 'onnxruntime-cpu' | 'tfjs-wasm' | 'tfjs-cpu';

/** A backbone ready to embed images. */
export interface Backbone {
  /** Stable id: file name plus the first 12 hex digits of the model's sha256, e.g. `mobilenetv2-12-int8-83530ad811bc`. */
  readonly id: string;
  /** Human-readable name. */
  readonly name: string;
  /** Where the model was loaded from. */
  readonly source: string;
  readonly format: 'onnx' | 'tfjs';
  readonly runtime: BackboneRuntime;
  /** Length of one feature vector (1280 for MobileNetV2's pooled features). */
  readonly dims: number;
  readonly preprocessing: PixelPreprocessing;
  /** Embeds `count` images given as one float32 batch in the backbone's layout; returns count x dims features. */
  embed(batch: Float32Array, count: number): Promise<Float32Array>;
  /** Frees the runtime's memory. */
  dispose(): Promise<void>;
}

/** ImageNet normalisation used by torchvision-style ONNX exports. */
export const IMAGENET_ONNX_PREPROCESSING: PixelPreprocessing = {
  size: 224,
  resize: 'cover',
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  layout: 'nchw',
};

/** Keras MobileNet-style preprocessing (x / 127.5 - 1) used by TF.js and Teachable Machine models. */
export const KERAS_TFJS_PREPROCESSING: PixelPreprocessing = {
  size: 224,
  resize: 'cover',
  scale: 1 / 127.5,
  mean: [1, 1, 1],
  std: [1, 1, 1],
  layout: 'nhwc',
};
