/** Image decoding with sharp: validation and thumbnails at import, model input tensors at embedding. */
import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
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

/** Files of this many bytes (2 GiB) or more are refused: fs.readFile cannot hold them in one Buffer. */
export const MAX_FILE_BYTES = 2 * 1024 ** 3;

/** Most pixels (width x height, before rotation) an image may have; larger ones are refused from the header. */
export const MAX_IMAGE_PIXELS = 30_000 * 30_000;

/**
 * Reads an image, hashes its bytes, decodes it fully (catching truncated and corrupt files) and writes a
 * JPEG thumbnail. Throws an Error whose message says what is wrong with the file; file system errors
 * (ENOENT when the file went away, EACCES when it may not be read) keep their `code`.
 *
 * Memory stays bounded for very large images: JPEGs are shrunk while decoding (libjpeg's 1/2, 1/4, 1/8
 * scaling) and PNG, TIFF and WebP are streamed in strips into the resize. A 20,000 x 20,000 JPEG takes about
 * 0.3 s and under 100 MB of peak RSS, a 20,000 x 20,000 PNG 0.6 s and 170 MB (bench/huge-image.ts). A large
 * non-JPEG image with an EXIF rotation is slower (5.7 s for that PNG with orientation 6, same peak RSS): libvips
 * needs random access to rotate it, and decodes images over 100 MB to a temporary file first.
 *
 * @example
 * await inspectImage('moth.jpg', (sha256) => `thumbnails/${sha256}.jpg`)
 * // { sha256: '60dc...', sizeBytes: 48213, width: 3000, height: 4000 }  (width and height as displayed)
 */
export async function inspectImage(filePath: string, thumbnailPath: (sha256: string) => string): Promise<ImageFacts> {
  const bytes = await readImageFile(filePath);
  if (bytes.length === 0) throw new Error('The file is empty (0 bytes).');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  let decoded: DecodedThumbnail;
  try {
    decoded = await decodeGate.shared(() => decodeThumbnail(bytes));
  } catch {
    // Decode again, alone, to learn why: libvips keeps one error buffer per process, so when several
    // decodes fail at once their messages can be swapped or lost ("Unknown error"; lovell/sharp#902).
    try {
      decoded = await decodeGate.exclusive(() => decodeThumbnail(bytes));
    } catch (error) {
      throw new Error(`Cannot decode this image: ${await describeDecodeError(error as Error, bytes, filePath)}`);
    }
  }
  await writeThumbnail(thumbnailPath(sha256), decoded.thumbnail);
  return { sha256, sizeBytes: bytes.length, width: decoded.width, height: decoded.height };
}

interface DecodedThumbnail {
  thumbnail: Buffer;
  /** Size as displayed, after EXIF rotation. */
  width: number;
  height: number;
}

async function decodeThumbnail(bytes: Buffer): Promise<DecodedThumbnail> {
  const image = sharp(bytes, { failOn: 'error', limitInputPixels: MAX_IMAGE_PIXELS }).rotate();
  const metadata = await image.metadata();
  const thumbnail = await image
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
    .flatten({ background: '#ffffff' })
    .jpeg({ quality: 82 })
    .toBuffer();
  // autoOrient gives the size as displayed: EXIF orientations 5 to 8 swap width and height.
  return { thumbnail, width: metadata.autoOrient.width, height: metadata.autoOrient.height };
}

/** Lets any number of `shared` tasks run together, and an `exclusive` task run with none beside it. */
class DecodeGate {
  #running = 0;
  #exclusive: Promise<void> | null = null;
  #onIdle: (() => void)[] = [];

  async shared<T>(work: () => Promise<T>): Promise<T> {
    while (this.#exclusive) await this.#exclusive;
    this.#running++;
    try {
      return await work();
    } finally {
      if (--this.#running === 0) for (const resolve of this.#onIdle.splice(0)) resolve();
    }
  }

  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    while (this.#exclusive) await this.#exclusive;
    let release = () => {};
    this.#exclusive = new Promise((resolve) => (release = resolve));
    try {
      while (this.#running > 0) await new Promise<void>((resolve) => this.#onIdle.push(resolve));
      return await work();
    } finally {
      this.#exclusive = null;
      release();
    }
  }
}

const decodeGate = new DecodeGate();

/** Reads a whole file, refusing files too big for one Buffer with a reason instead of a RangeError. */
async function readImageFile(filePath: string): Promise<Buffer> {
  const handle = await fs.open(filePath, 'r');
  try {
    const { size } = await handle.stat();
    if (size >= MAX_FILE_BYTES) {
      throw new Error(
        `The file is ${(size / 1024 ** 3).toFixed(1)} GiB, larger than 2 GiB, the most this app reads. ` +
          'Is it really a photo? If so, save a smaller copy (for example as JPEG) and import that.',
      );
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * Writes a thumbnail through a temporary file and a rename, so that a reader (or a second import of a
 * duplicate photo writing the same hash at the same moment) never sees half a file.
 */
async function writeThumbnail(target: string, data: Buffer): Promise<void> {
  const temporary = `${target}.${process.pid}.${randomUUID()}.tmp`;
  try {
    await fs.writeFile(temporary, data);
    await fs.rename(temporary, target);
  } catch (error) {
    // Best effort: where the write failed, removing may fail too, and must not hide the first error.
    await fs.rm(temporary, { force: true }).catch(() => undefined);
    // No `code`, so it is not read as a problem with the photo: it is about the project folder.
    throw new ThumbnailWriteError(
      `Cannot write the thumbnail ${target}: ${(error as Error).message}. Check that the project folder is writable and the disk is not full.`,
    );
  }
}

/** A thumbnail could not be written (disk full, read-only project folder): the project's fault, not the photo's. */
export class ThumbnailWriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ThumbnailWriteError';
  }
}

const IMAGE_EXTENSION_NAMES: Record<string, string> = {
  '.jpg': 'JPEG',
  '.jpeg': 'JPEG',
  '.png': 'PNG',
  '.tif': 'TIFF',
  '.tiff': 'TIFF',
  '.webp': 'WebP',
  '.gif': 'GIF',
  '.avif': 'AVIF',
  '.heic': 'HEIC',
  '.heif': 'HEIF',
};

/** True when the first bytes look like text (UTF-8 or ASCII, no control characters but tab and newlines). */
function looksLikeText(bytes: Buffer): boolean {
  const head = bytes.subarray(0, 512);
  for (const byte of head) if (byte < 0x09 || (byte > 0x0d && byte < 0x20) || byte === 0x7f) return false;
  // A character cut in half at byte 512 decodes to one trailing U+FFFD; that is still text.
  return !head.toString('utf8').replace(/\uFFFD$/, '').includes('\uFFFD');
}

async function describeDecodeError(error: Error, bytes: Buffer, filePath: string): Promise<string> {
  const message = error.message.split('\n')[0] ?? 'unknown error';
  if (/unsupported image format/i.test(message)) {
    const named = IMAGE_EXTENSION_NAMES[path.extname(filePath).toLowerCase()] ?? 'an image';
    if (looksLikeText(bytes)) return `not an image file: it contains text, although its name says ${named}. Was a document renamed?`;
    return 'not an image file, or a format this app cannot read. Convert it to JPEG or PNG.';
  }
  if (/premature end|truncated|unexpected end/i.test(message)) {
    return 'the file is truncated (incomplete download or copy?). Copy it again from the original.';
  }
  if (/exceeds pixel limit/i.test(message)) {
    const size = await sharp(bytes, { limitInputPixels: false })
      .metadata()
      .then(({ width, height }) => ` (${width} x ${height} pixels)`)
      .catch(() => '');
    return (
      `the image is too large${size}; the most this app decodes is ${MAX_IMAGE_PIXELS / 1e6} megapixels. ` +
      'Save a smaller copy (for example 8,000 pixels on the long side) and import that.'
    );
  }
  return message;
}

/**
 * Decodes an image into a float32 model input of `size` x `size` x 3, normalised per `preprocessing`.
 * EXIF orientation is applied; big JPEGs are shrunk while decoding.
 */
export async function decodeForModel(filePath: string, preprocessing: PixelPreprocessing): Promise<Float32Array> {
  const { size } = preprocessing;
  const { data, info } = await sharp(filePath, { failOn: 'none', limitInputPixels: MAX_IMAGE_PIXELS })
    .rotate()
    .resize(size, size, { fit: preprocessing.resize, position: 'centre', kernel: 'lanczos3' })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== size || info.height !== size) {
    throw new Error(`Unexpected decoded shape ${info.width}x${info.height}x${info.channels}`);
  }
  return pixelsToTensor(data, preprocessing);
}

/**
 * The tensor of the horizontally mirrored image, from a tensor made by `decodeForModel`: the mirror view
 * for test-time averaging without decoding the photo a second time.
 */
export function mirrorTensor(tensor: Float32Array, preprocessing: PixelPreprocessing): Float32Array {
  const { size, layout } = preprocessing;
  const out = new Float32Array(tensor.length);
  if (layout === 'nchw') {
    // Rows of `size` values per channel plane: reverse each row.
    for (let row = 0; row < 3 * size; row++) {
      const base = row * size;
      for (let column = 0; column < size; column++) out[base + column] = tensor[base + size - 1 - column]!;
    }
  } else {
    // Rows of `size` pixels of 3 values: reverse the pixels of each row, keeping each pixel's channels in order.
    for (let row = 0; row < size; row++) {
      const base = row * size * 3;
      for (let column = 0; column < size; column++) {
        const from = base + (size - 1 - column) * 3;
        const to = base + column * 3;
        out[to] = tensor[from]!;
        out[to + 1] = tensor[from + 1]!;
        out[to + 2] = tensor[from + 2]!;
      }
    }
  }
  return out;
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
