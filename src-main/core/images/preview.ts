/** Screen-sized copies of original photos, for the image viewer: originals can be 20,000 pixels wide. */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { MAX_IMAGE_PIXELS } from './decode';

/** Longest side of a viewer preview, in pixels: sharp on a 4K screen at 1:1, small enough to send at once. */
export const PREVIEW_SIZE = 2048;

/**
 * Writes a JPEG of `source` at most `maxSide` pixels on its long side (never enlarged), upright (EXIF
 * orientation applied) and on white where the original is transparent. Written through a temporary file
 * and a rename, so a reader never sees half a file.
 *
 * JPEGs are shrunk while decoding and other formats are streamed into the resize, so a 20,000 x 20,000
 * original stays far below its 1.2 GB of raw pixels.
 *
 * await writePreview('/photos/moth.tif', '/project/previews/60dc...-2048.jpg')
 * // { width: 1536, height: 2048 }
 */
export async function writePreview(source: string, target: string, maxSide = PREVIEW_SIZE): Promise<{ width: number; height: number }> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temporary = `${target}.${process.pid}.${randomUUID()}.tmp`;
  try {
    const info = await sharp(source, { failOn: 'none', limitInputPixels: MAX_IMAGE_PIXELS })
      .rotate()
      .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 85 })
      .toFile(temporary);
    await fs.rename(temporary, target);
    return { width: info.width, height: info.height };
  } catch (error) {
    await fs.rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
}
