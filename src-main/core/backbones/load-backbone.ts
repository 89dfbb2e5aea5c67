/** Loads a backbone from a path: an ONNX file, or a TF.js model folder (or its model.json). */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { PixelPreprocessing } from '../images/decode';
import { type Backbone, type BackboneRuntime, IMAGENET_ONNX_PREPROCESSING, KERAS_TFJS_PREPROCESSING } from './backbone';
import { readTfjsArtifacts } from './tfjs-artifacts';
import { convertTfjsToOnnx, type LastBlockWeights } from './tfjs-to-onnx';

/**
 * Optional `specimen-sorter.json` beside the model (or `<model>.onnx.json`), overriding the defaults:
 * `{ "name": "...", "preprocessing": { "size": 224, "mean": [...], ... }, "featureTensor": "...", "featureLayer": "..." }`.
 */
export interface BackboneManifest {
  name?: string;
  preprocessing?: Partial<PixelPreprocessing>;
  /** ONNX: name of a [batch, channels, h, w] tensor to pool, when automatic detection picks the wrong one. */
  featureTensor?: string;
  /** TF.js: name of the layer whose output is the feature vector. */
  featureLayer?: string;
}

/** How to load a backbone. */
export interface LoadBackboneOptions {
  /**
   * Runtime to use: default the fastest, or `SPECIMEN_SORTER_RUNTIME` when set. TF.js models run on
   * onnxruntime after an in-memory conversion; `tfjs-wasm` and `tfjs-cpu` force TF.js.
   */
  runtime?: BackboneRuntime;
  /** Square input side in pixels, overriding the model's default (fully convolutional models accept others). */
  inputSize?: number;
  /** Told why a faster runtime could not be used. */
  onFallback?: (message: string) => void;
  /**
   * TF.js models on onnxruntime only. 'input': output the input map of the model's last block (flattened,
   * for training that block, see `findLastBlock`); weights: run the last block with these fine-tuned weights.
   */
  lastBlock?: 'input' | LastBlockWeights;
}

/** The id suffix of a backbone whose last block is cut off or replaced: `~block-input` or `~block-<12 hex of the weights>`. */
export function lastBlockSuffix(lastBlock: 'input' | LastBlockWeights | undefined): string {
  if (!lastBlock) return '';
  if (lastBlock === 'input') return '~block-input';
  const hash = createHash('sha256');
  for (const array of [lastBlock.weight, lastBlock.bias]) hash.update(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  return `~block-${hash.update(lastBlock.activation).digest('hex').slice(0, 12)}`;
}

const RUNTIMES: readonly BackboneRuntime[] = ['onnxruntime-cpu', 'tfjs-wasm', 'tfjs-cpu'];

/** The runtime named by `SPECIMEN_SORTER_RUNTIME`, else the fastest. */
export function preferredRuntime(): BackboneRuntime {
  const named = process.env.SPECIMEN_SORTER_RUNTIME;
  if (named === undefined || named === '') return 'onnxruntime-cpu';
  if (!(RUNTIMES as string[]).includes(named)) {
    throw new Error(`SPECIMEN_SORTER_RUNTIME must be one of ${RUNTIMES.join(', ')}, not "${named}".`);
  }
  return named as BackboneRuntime;
}

/** Where a model lives on disk and in which format. */
export interface ResolvedModelPath {
  format: 'onnx' | 'tfjs';
  /** The .onnx file or the model.json file. */
  file: string;
  manifestFile: string;
}

/** Works out a model's format from a path, with a clear error for anything else. */
export async function resolveModelPath(modelPath: string): Promise<ResolvedModelPath> {
  const absolute = path.resolve(modelPath);
  let stat;
  try {
    stat = await fs.stat(absolute);
  } catch {
    throw new Error(`Model not found: ${absolute}. Give the path of an .onnx file or of a TF.js model folder (with model.json).`);
  }
  if (stat.isDirectory()) {
    const modelJson = path.join(absolute, 'model.json');
    try {
      await fs.access(modelJson);
      return { format: 'tfjs', file: modelJson, manifestFile: path.join(absolute, 'specimen-sorter.json') };
    } catch {
      const onnxFiles = (await fs.readdir(absolute)).filter((name) => name.endsWith('.onnx'));
      if (onnxFiles.length === 1) {
        const file = path.join(absolute, onnxFiles[0]!);
        return { format: 'onnx', file, manifestFile: `${file}.json` };
      }
      throw new Error(`No model in ${absolute}: expected model.json (TF.js) or exactly one .onnx file.`);
    }
  }
  if (absolute.endsWith('.onnx')) return { format: 'onnx', file: absolute, manifestFile: `${absolute}.json` };
  if (path.basename(absolute) === 'model.json') {
    return { format: 'tfjs', file: absolute, manifestFile: path.join(path.dirname(absolute), 'specimen-sorter.json') };
  }
  throw new Error(`Unsupported model file: ${absolute}. Use an .onnx file or a TF.js model.json.`);
}

async function readManifest(file: string): Promise<BackboneManifest> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as BackboneManifest;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`Cannot read the model manifest ${file}: ${(error as Error).message}`);
  }
}

async function hashFiles(files: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) hash.update(await fs.readFile(file));
  return hash.digest('hex');
}

/**
 * Loads a backbone on the fastest runtime for its format.
 *
 * const backbone = await loadBackbone('../shared/models/mobilenetv2-12-int8/mobilenetv2-12-int8.onnx')
 * // { id: 'mobilenetv2-12-int8-83530ad811bc', dims: 1280, runtime: 'onnxruntime-cpu', ... }
 */
export async function loadBackbone(modelPath: string, options: LoadBackboneOptions = {}): Promise<Backbone> {
  const { runtime = preferredRuntime(), onFallback, inputSize, lastBlock } = options;
  const resolved = await resolveModelPath(modelPath);
  const manifest = await readManifest(resolved.manifestFile);
  if (lastBlock && (resolved.format !== 'tfjs' || runtime !== 'onnxruntime-cpu' || manifest.featureLayer)) {
    throw new Error('Training the last block needs a TF.js layers model run on onnxruntime (such as the bundled MobileNetV2); use --trainable head for this model.');
  }
  if (resolved.format === 'onnx') {
    const bytes = await fs.readFile(resolved.file);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const baseName = path.basename(resolved.file, '.onnx');
    const preprocessing = { ...IMAGENET_ONNX_PREPROCESSING, ...manifest.preprocessing, ...(inputSize ? { size: inputSize } : {}) };
    const { loadOnnxBackbone } = await import('./onnx-backbone');
    return loadOnnxBackbone(
      bytes,
      { id: `${baseName}-${sha256.slice(0, 12)}${inputSize ? `@${inputSize}` : ''}`, name: manifest.name ?? baseName, source: resolved.file },
      preprocessing,
      manifest.featureTensor,
    );
  }
  const artifacts = await readTfjsArtifacts(resolved.file);
  const sha256 = await hashFiles([resolved.file, ...artifacts.shardFiles]);
  const baseName = path.basename(path.dirname(resolved.file));
  const sizeSuffix = inputSize ? `@${inputSize}` : '';
  const identity = {
    id: `${baseName}-${sha256.slice(0, 12)}${lastBlockSuffix(lastBlock)}${sizeSuffix}`,
    name: `${manifest.name ?? baseName}${lastBlock === 'input' ? ' (last block input)' : lastBlock ? ' (fine-tuned last block)' : ''}`,
    source: path.dirname(resolved.file),
  };
  const preprocessing = { ...KERAS_TFJS_PREPROCESSING, ...manifest.preprocessing, ...(inputSize ? { size: inputSize } : {}) };
  if (runtime === 'onnxruntime-cpu' && !manifest.featureLayer) {
    try {
      const onnx = convertTfjsToOnnx(artifacts, preprocessing.size, { lastBlock });
      const { loadOnnxBackbone } = await import('./onnx-backbone');
      return await loadOnnxBackbone(onnx, identity, { ...preprocessing, layout: 'nchw' }, undefined, 'tfjs');
    } catch (error) {
      if (lastBlock) throw error;
      // Layers the converter does not know, or a graph onnxruntime rejects: TF.js runs any layers model.
      onFallback?.(`Running ${identity.name} on TF.js: ${(error as Error).message}`);
    }
  }
  const { loadTfjsBackbone } = await import('./tfjs-backbone');
  return loadTfjsBackbone(resolved.file, identity, preprocessing, manifest.featureLayer, runtime === 'tfjs-cpu' ? 'cpu' : 'wasm');
}
