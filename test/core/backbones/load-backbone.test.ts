import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backbone } from '../../../src-main/core/backbones/backbone';
import { loadBackbone, resolveModelPath } from '../../../src-main/core/backbones/load-backbone';
import { decodeForModel } from '../../../src-main/core/images/decode';
import { ONNX_MODEL, SHARED, TFJS_MODEL } from '../../helpers/fixtures';

const mothFolder = path.join(SHARED, 'data', 'eu_moths', 'aglia_tau');

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let index = 0; index < a.length; index++) {
    dot += a[index]! * b[index]!;
    normA += a[index]! ** 2;
    normB += b[index]! ** 2;
  }
  return dot / Math.sqrt(normA * normB);
}

describe.each([
  ['ONNX MobileNetV2-int8', ONNX_MODEL, 'onnx', 'onnxruntime-cpu'],
  ['TF.js MobileNetV2 0.35 converted to ONNX', TFJS_MODEL, 'tfjs', 'onnxruntime-cpu'],
  ['TF.js MobileNetV2 0.35 on TF.js wasm', TFJS_MODEL, 'tfjs', 'tfjs-wasm'],
] as const)('%s', (_name, modelPath, format, runtime) => {
  let backbone: Backbone;
  beforeAll(async () => {
    backbone = await loadBackbone(modelPath, { runtime });
  });
  afterAll(async () => {
    await backbone.dispose();
  });

  it('exposes 1280-d pooled features, not the classifier output', () => {
    expect(backbone.format).toBe(format);
    expect(backbone.runtime).toBe(runtime);
    expect(backbone.dims).toBe(1280);
    expect(backbone.id).toMatch(/-[0-9a-f]{12}$/);
  });

  it('embeds real photos: a batch equals single images, and the same species is closer', async () => {
    const { readdirSync } = await import('node:fs');
    const mothFiles = readdirSync(mothFolder).slice(0, 2).map((file) => path.join(mothFolder, file));
    const otherFolder = path.join(SHARED, 'data', 'cub200_subset100');
    const birdSpecies = readdirSync(otherFolder).find((name) => !name.startsWith('_') && !name.endsWith('.md'))!;
    const bird = path.join(otherFolder, birdSpecies, readdirSync(path.join(otherFolder, birdSpecies))[0]!);
    const inputs = await Promise.all([...mothFiles, bird].map((file) => decodeForModel(file, backbone.preprocessing)));
    const batch = new Float32Array(inputs.length * inputs[0]!.length);
    inputs.forEach((input, index) => batch.set(input, index * input.length));
    const features = await backbone.embed(batch, inputs.length);
    const vector = (index: number) => features.subarray(index * 1280, (index + 1) * 1280);
    const single = await backbone.embed(inputs[0]!, 1);
    expect(cosine(single, vector(0))).toBeGreaterThan(0.9999);
    expect(cosine(vector(0), vector(1))).toBeGreaterThan(cosine(vector(0), vector(2)));
  });
});

describe('resolveModelPath', () => {
  it('explains what a model path must be', async () => {
    await expect(resolveModelPath('/nonexistent/model')).rejects.toThrow(/\.onnx file or of a TF\.js model folder/);
    await expect(resolveModelPath(path.join(SHARED, 'models', 'SOURCE.md'))).rejects.toThrow(/Unsupported model file/);
  });
});
