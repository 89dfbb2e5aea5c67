import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBackbone } from '../../../src-main/core/backbones/load-backbone';
import { decodeForModel } from '../../../src-main/core/images/decode';
import { SHARED, TFJS_MODEL } from '../../helpers/fixtures';

// The same TF.js model must give the same features on onnxruntime (after conversion) and on TF.js wasm.
describe('TF.js model converted to ONNX', () => {
  it('matches TF.js on real photos within float tolerance', async () => {
    const converted = await loadBackbone(TFJS_MODEL, { runtime: 'onnxruntime-cpu' });
    const reference = await loadBackbone(TFJS_MODEL, { runtime: 'tfjs-wasm' });
    expect(converted.runtime).toBe('onnxruntime-cpu');
    expect(reference.runtime).toBe('tfjs-wasm');
    expect(converted.id).toBe(reference.id);
    expect(converted.dims).toBe(1280);
    const folder = path.join(SHARED, 'data', 'eu_moths', 'arctia_caja');
    for (const file of readdirSync(folder).slice(0, 3)) {
      const onnxInput = await decodeForModel(path.join(folder, file), converted.preprocessing);
      const tfjsInput = await decodeForModel(path.join(folder, file), reference.preprocessing);
      const a = await converted.embed(onnxInput, 1);
      const b = await reference.embed(tfjsInput, 1);
      let maxDifference = 0;
      let maxValue = 0;
      for (let index = 0; index < a.length; index++) {
        maxDifference = Math.max(maxDifference, Math.abs(a[index]! - b[index]!));
        maxValue = Math.max(maxValue, Math.abs(b[index]!));
      }
      expect(maxValue).toBeGreaterThan(0.1);
      expect(maxDifference).toBeLessThan(1e-3 * maxValue + 1e-4);
    }
    await converted.dispose();
    await reference.dispose();
  });
});

// Last-block training caches the block's input and later runs the block with new weights: cutting and
// replacing the block with its own folded weights must give the model's features.
describe('the last block of a TF.js model', () => {
  it('is found, cut off and replaced without changing the features', async () => {
    const { readTfjsArtifacts } = await import('../../../src-main/core/backbones/tfjs-artifacts');
    const { findLastBlock } = await import('../../../src-main/core/backbones/tfjs-to-onnx');
    const { lastBlockFeatures } = await import('../../../src-main/core/training/last-block');
    const { javascriptKernel } = await import('../../../src-main/core/clustering/matrix-kernel');
    const block = findLastBlock(await readTfjsArtifacts(path.join(TFJS_MODEL, 'model.json')));
    expect(block).toMatchObject({ inputLayer: 'block_16_project_BN', layers: ['Conv_1', 'Conv_1_bn', 'out_relu'], inputs: 112, outputs: 1280, activation: 'relu6' });
    const size = 256;
    const full = await loadBackbone(TFJS_MODEL, { inputSize: size });
    const cut = await loadBackbone(TFJS_MODEL, { inputSize: size, lastBlock: 'input' });
    const replaced = await loadBackbone(TFJS_MODEL, { inputSize: size, lastBlock: block });
    expect(cut.id).toMatch(/~block-input@256$/);
    expect(replaced.id).toMatch(/~block-[0-9a-f]{12}@256$/);
    expect(cut.dims).toBe(112 * 8 * 8);
    const folder = path.join(SHARED, 'data', 'eu_moths', 'arctia_caja');
    const files = readdirSync(folder).slice(0, 2);
    const batch = new Float32Array(files.length * 3 * size * size);
    for (const [index, file] of files.entries()) batch.set(await decodeForModel(path.join(folder, file), full.preprocessing), index * 3 * size * size);
    const features = await full.embed(batch, files.length);
    const maps = await cut.embed(batch, files.length);
    const viaReplaced = await replaced.embed(batch, files.length);
    // The block in JavaScript on the cached maps, as training computes it.
    const viaMaps = await lastBlockFeatures(block, { count: files.length, channels: 112, scales: [{ positions: 64, plain: maps, mirrored: maps }] }, 'plain', javascriptKernel());
    const largest = Math.max(...features.map(Math.abs));
    expect(largest).toBeGreaterThan(0.1);
    for (let index = 0; index < features.length; index++) {
      expect(Math.abs(viaReplaced[index]! - features[index]!)).toBeLessThan(1e-4 * largest);
      expect(Math.abs(viaMaps.data[index]! - features[index]!)).toBeLessThan(1e-4 * largest);
    }
    // A changed block changes the features and the id.
    const changed = { ...block, bias: block.bias.map((value) => value + 0.5) };
    const shifted = await loadBackbone(TFJS_MODEL, { inputSize: size, lastBlock: changed });
    expect(shifted.id).not.toBe(replaced.id);
    const moved = await shifted.embed(batch, files.length);
    expect(Math.max(...moved.map((value, index) => Math.abs(value - features[index]!)))).toBeGreaterThan(0.01);
    for (const backbone of [full, cut, replaced, shifted]) await backbone.dispose();
  });

  it('refuses ONNX models with a clear message', async () => {
    const { ONNX_MODEL } = await import('../../helpers/fixtures');
    await expect(loadBackbone(ONNX_MODEL, { lastBlock: 'input' })).rejects.toThrow(/TF\.js layers model.*--trainable head/);
  });
});
