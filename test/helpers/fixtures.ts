/** Tiny fixtures made by the tests themselves: temporary folders and real images encoded by sharp. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

/** Path of the shared data and models beside the repository (read-only; never copied into it). */
export const SHARED = path.resolve(__dirname, '..', '..', '..', 'shared');
export const ONNX_MODEL = path.join(SHARED, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.onnx');
export const TFJS_MODEL = path.join(SHARED, 'models', 'tm-mobilenetv2-0.35');

/** A fresh temporary folder, removed by the returned cleanup. */
export function temporaryFolder(prefix = 'specimen-test-'): { folder: string; cleanup: () => void } {
  const folder = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { folder, cleanup: () => rmSync(folder, { recursive: true, force: true }) };
}

/** Writes a real JPEG of a solid colour with a pattern that depends on `seed`. */
export async function writeJpeg(file: string, seed: number, size = 64): Promise<void> {
  const pixels = Buffer.alloc(size * size * 3);
  for (let index = 0; index < size * size; index++) {
    const x = index % size;
    const y = Math.floor(index / size);
    pixels[index * 3] = (seed * 53 + x * 3) % 256;
    pixels[index * 3 + 1] = (seed * 97 + y * 5) % 256;
    pixels[index * 3 + 2] = (seed * 31 + (x ^ y)) % 256;
  }
  await sharp(pixels, { raw: { width: size, height: size, channels: 3 } }).jpeg().toFile(file);
}

/**
 * Writes `species` folders named `species 0`, `species 1`, ... of `perSpecies` generated JPEGs each (`size`
 * pixels, a distinct seed per photo) under `folder`, as a labeled light-trap night would look.
 */
export async function writeSpeciesFolders(folder: string, species: number, perSpecies: number, size = 48): Promise<void> {
  for (let group = 0; group < species; group++) {
    const speciesFolder = path.join(folder, `species ${group}`);
    mkdirSync(speciesFolder, { recursive: true });
    for (let index = 0; index < perSpecies; index++) await writeJpeg(path.join(speciesFolder, `${index}.jpg`), group * 40 + index, size);
  }
}

/** A deterministic float32 matrix of `count` points around `centers` Gaussian-ish blobs. */
export function blobs(count: number, dims: number, centers: number, seed: number): { data: Float32Array; labels: number[] } {
  let state = seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const centerData = Array.from({ length: centers * dims }, () => random() * 20 - 10);
  const data = new Float32Array(count * dims);
  const labels: number[] = [];
  for (let row = 0; row < count; row++) {
    const label = row % centers;
    labels.push(label);
    for (let index = 0; index < dims; index++) {
      data[row * dims + index] = centerData[label * dims + index]! + (random() + random() + random() - 1.5) * 0.8;
    }
  }
  return { data, labels };
}
