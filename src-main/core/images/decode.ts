/** Image decoding with sharp: validation and thumbnails at import, model input tensors at embedding. */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import sharp from 'sharp';

/** How a backbone wants its pixels. */
export interface PixelPreprocessing {
  /** Square input side in pixels (224 for MobileNetV2). */
  size: number;
  /** `cover`: scale the short side to `size` and crop the centre; `fill`: squash to a square. */
  resize: 'cover' | 'fill';
  /** Per-channel RGB mean and std applied after scaling pixels to `scale`: value = (pixel * scale - mean) / std. */
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  /** Tensor layout: NHWC (TF.js) or NCHW (most ONNX models). */
  layout: 'nhwc' | 'nchw';
}

/** What import learns about one readable image. */
export interface ImageFacts {
  sha256: string;
  sizeBytes: number;
  width: number;
  height: number;
}

sharp.cache(false);
// One libvips thread per image: images are decoded in parallel on libuv's pool instead, which scales
// better for many small photos and leaves the cores to the model between batches.
sharp.concurrency(1);

/** Longest side of stored thumbnails, in pixels. */
export const THUMBNAIL_SIZE = 256;

/**
 * Reads an image, hashes its bytes, decodes it fully (catching truncated and corrupt files) and writes a
 * JPEG thumbnail. Throws an Error whose message says what is wrong with the file.
 */
export async function inspectImage(filePath: string, thumbnailPath: (sha256: string) => string): Promise<ImageFacts> {
  const bytes = await fs.readFile(filePath);
  if (bytes.length === 0) throw new Error('The file is empty (0 bytes).');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  let decoded;
  try {
    const image = sharp(bytes, { failOn: 'error', limitInputPixels: 30_000 * 30_000 }).rotate();
    const metadata = await image.metadata();
    decoded = await image
      .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 82 })
      .toBuffer({ resolveWithObject: true });
    const swapped = (metadata.orientation ?? 1) >= 5;
    const width = (swapped ? metadata.height : metadata.width) ?? decoded.info.width;
    const height = (swapped ? metadata.width : metadata.height) ?? decoded.info.height;
    await fs.writeFile(thumbnailPath(sha256), decoded.data);
    return { sha256, sizeBytes: bytes.length, width, height };
  } catch (error) {
    throw new Error(`Cannot decode this image: ${describeDecodeError(error as Error)}`);
  }
}

function describeDecodeError(error: Error): string {
  const message = error.message.split('\n')[0] ?? 'unknown error';
  if (/unsupported image format/i.test(message)) return 'not an image file, or a format this app cannot read.';
  if (/premature end|truncated|unexpected end/i.test(message)) return 'the file is truncated (incomplete download or copy?).';
  return message;
}

/**
 * Decodes an image into a float32 model input of `size` x `size` x 3, normalised per `preprocessing`.
 * EXIF orientation is applied; big JPEGs are shrunk while decoding.
 */
export async function decodeForModel(filePath: string, preprocessing: PixelPreprocessing, flip = false): Promise<Float32Array> {
  const { size } = preprocessing;
  let pipeline = sharp(filePath, { failOn: 'none', limitInputPixels: 30_000 * 30_000 })
    .rotate()
    .resize(size, size, { fit: preprocessing.resize, position: 'centre', kernel: 'lanczos3' })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .removeAlpha();
  if (flip) pipeline = pipeline.flop();
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== size || info.height !== size) {
    throw new Error(`Unexpected decoded shape ${info.width}x${info.height}x${info.channels}`);
  }
  return pixelsToTensor(data, preprocessing);
}

/** Converts interleaved RGB bytes to a normalised float32 tensor in the backbone's layout. */
export function pixelsToTensor(rgb: Uint8Array, preprocessing: PixelPreprocessing): Float32Array {
  const { size, scale, mean, std, layout } = preprocessing;
  const plane = size * size;
  const out = new Float32Array(plane * 3);
  for (let channel = 0; channel < 3; channel++) {
    const multiplier = scale / std[channel]!;
    const offset = mean[channel]! / std[channel]!;
    for (let pixel = 0; pixel < plane; pixel++) {
      const value = rgb[pixel * 3 + channel]! * multiplier - offset;
      if (layout === 'nchw') out[channel * plane + pixel] = value;
      else out[pixel * 3 + channel] = value;
    }
  }
  return out;
}
