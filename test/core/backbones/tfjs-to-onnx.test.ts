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
