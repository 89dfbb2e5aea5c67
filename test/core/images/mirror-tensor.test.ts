import { readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeForModel, mirrorTensor, type PixelPreprocessing } from '../../../src-main/core/images/decode';
import { SHARED, temporaryFolder } from '../../helpers/fixtures';

const MOTH_FOLDER = path.join(SHARED, 'data', 'eu_moths', 'aglia_tau');
const MOTH = path.join(MOTH_FOLDER, readdirSync(MOTH_FOLDER).sort()[0]!);

const temporary = temporaryFolder();
afterAll(() => temporary.cleanup());

const base = { size: 2, resize: 'fill', scale: 1, mean: [0, 0, 0], std: [1, 1, 1] } as const;

describe('mirrorTensor', () => {
  it('reverses each row of each channel plane (NCHW)', () => {
    // 2 x 2 image, channels R, G, B as planes: R = [1 2 / 3 4], G = [5 6 / 7 8], B = [9 10 / 11 12].
    const tensor = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(Array.from(mirrorTensor(tensor, { ...base, layout: 'nchw' } as PixelPreprocessing))).toEqual([2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11]);
  });

  it('reverses the pixels of each row and keeps each pixel’s channels (NHWC)', () => {
    // Pixels (r, g, b): row 0 = (1,2,3) (4,5,6); row 1 = (7,8,9) (10,11,12).
    const tensor = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(Array.from(mirrorTensor(tensor, { ...base, layout: 'nhwc' } as PixelPreprocessing))).toEqual([4, 5, 6, 1, 2, 3, 10, 11, 12, 7, 8, 9]);
  });

  it('matches decoding a mirrored copy of the photo, within resampling error', async () => {
    // A real moth photo cropped to an odd, non-square size, so that cropping and resampling would show any
    // off-by-one; the mirrored copy is written losslessly.
    const original = path.join(temporary.folder, 'original.png');
    const mirrored = path.join(temporary.folder, 'mirrored.png');
    const photo = sharp(MOTH).extract({ left: 13, top: 7, width: 401, height: 297 });
    await photo.clone().png().toFile(original);
    await photo.clone().flop().png().toFile(mirrored);
    for (const preprocessing of [
      { size: 224, resize: 'cover', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], layout: 'nchw' },
      { size: 224, resize: 'fill', scale: 1 / 127.5, mean: [1, 1, 1], std: [1, 1, 1], layout: 'nhwc' },
    ] as PixelPreprocessing[]) {
      const fromTensor = mirrorTensor(await decodeForModel(original, preprocessing), preprocessing);
      const fromFile = await decodeForModel(mirrored, preprocessing);
      let total = 0;
      for (let index = 0; index < fromFile.length; index++) total += Math.abs(fromTensor[index]! - fromFile[index]!);
      // Mean absolute difference under 1 grey level of 255 (in each normalisation's units): the two differ
      // only by where the resampler's sub-pixel grid falls, not by what the picture shows.
      const greyLevel = preprocessing.scale / Math.min(...preprocessing.std);
      expect(total / fromFile.length).toBeLessThan(greyLevel);
    }
  });
});
