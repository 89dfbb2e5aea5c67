import { describe, expect, it } from 'vitest';
import { decodeHistory, encodeHistory, packParts, unpackParts } from '../../../src-main/core/training/training-state';
import type { EpochRecord } from '../../../src-main/core/training/trainer';
import { seededRandom } from '../../../src-main/core/util/random';

describe('stored training state', () => {
  it('packs a header and named parts, each readable as floats in place', () => {
    const weights = Float32Array.of(1.5, -2, 3);
    const odd = Uint8Array.of(7, 8, 9, 10, 11);
    const packed = packParts({ epoch: 3, note: 'ä' }, { weights: new Uint8Array(weights.buffer), odd, empty: new Uint8Array(0), after: new Uint8Array(Float32Array.of(4).buffer) });
    const { header, parts } = unpackParts(packed);
    expect(header).toEqual({ epoch: 3, note: 'ä' });
    expect(Array.from(new Float32Array(parts.weights!.buffer, parts.weights!.byteOffset, 3))).toEqual([1.5, -2, 3]);
    expect(Array.from(parts.odd!)).toEqual([7, 8, 9, 10, 11]);
    expect(parts.empty!.byteLength).toBe(0);
    // The part after an odd-length one starts on a 4-byte boundary.
    expect(parts.after!.byteOffset % 4).toBe(0);
    expect(new Float32Array(parts.after!.buffer, parts.after!.byteOffset, 1)[0]).toBe(4);
  });

  it('refuses what it did not write, saying to start again', () => {
    expect(() => unpackParts(Buffer.from('{"format":"other"}\n'))).toThrow(/start a new training run/);
    expect(() => unpackParts(Buffer.from('no header'))).toThrow(/start a new training run/);
  });

  it('keeps the NaNs of epoch records (no validation species, pairwise losses) through JSON', () => {
    const history: EpochRecord[] = [{ epoch: 1, loss: 0.5, accuracy: Number.NaN, validationCa: Number.NaN, learningRate: 0.01, seconds: 2 }];
    expect(decodeHistory(JSON.parse(JSON.stringify(encodeHistory(history))))).toEqual(history);
  });

  it('restarts a seeded random stream where it stood', () => {
    const random = seededRandom(11);
    random();
    random();
    const again = seededRandom(random.state);
    expect([again(), again()]).toEqual([random(), random()]);
  });
});
