/** Reads a TF.js layers model (model.json plus weight shards) into memory. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { TfjsArtifacts } from './tfjs-to-onnx';

/** The model.json's topology and weight specs, with every shard concatenated into one buffer. */
export async function readTfjsArtifacts(modelJsonPath: string): Promise<TfjsArtifacts & { shardFiles: string[] }> {
  const json = JSON.parse(await fs.readFile(modelJsonPath, 'utf8'));
  const folder = path.dirname(modelJsonPath);
  const weightSpecs = [];
  const shardFiles: string[] = [];
  for (const group of json.weightsManifest ?? []) {
    weightSpecs.push(...group.weights);
    for (const shard of group.paths) shardFiles.push(path.join(folder, shard));
  }
  const weights = Buffer.concat(await Promise.all(shardFiles.map((file) => fs.readFile(file))));
  return {
    modelTopology: json.modelTopology,
    weightSpecs,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer,
    shardFiles,
  };
}
