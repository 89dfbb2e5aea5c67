/**
 * The user's image models: added from a file or folder (offline workstations) or downloaded from a URL
 * (with progress, resume and a sha256 check), kept in the app's data folder under `models/<id>/` with a
 * small manifest. `resolveModelReference` turns an id or a path into something `loadBackbone` opens.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { resolveModelPath } from '../core/backbones/load-backbone';
import { CancelledError, type LongWorkOptions } from '../core/util/progress';

/** What the registry records for each model (`manifest.json` in its folder). */
export interface ModelManifest {
  id: string;
  name: string;
  format: 'onnx' | 'tfjs';
  /** File (ONNX) or folder (TF.js) inside the model's registry folder. */
  entry: string;
  sha256: string;
  source: string;
  licence: string | null;
  addedAt: string;
}

/** The app's data folder: `SPECIMEN_SORTER_DATA`, else the platform's per-user application data folder. */
export function appDataFolder(): string {
  if (process.env.SPECIMEN_SORTER_DATA) return path.resolve(process.env.SPECIMEN_SORTER_DATA);
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), 'specimen-sorter');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', 'specimen-sorter');
  return path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'specimen-sorter');
}

function modelsFolder(): string {
  return path.join(appDataFolder(), 'models');
}

async function sha256OfFiles(files: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files.sort()) {
    await new Promise<void>((resolve, reject) => {
      createReadStream(file).on('data', (chunk) => hash.update(chunk)).on('end', resolve).on('error', reject);
    });
  }
  return hash.digest('hex');
}

function slug(text: string): string {
  return text.toLowerCase().replace(/\.onnx$/, '').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'model';
}

/** Lists registered models, newest first. */
export async function listModels(): Promise<ModelManifest[]> {
  let folders: string[];
  try {
    folders = await fs.readdir(modelsFolder());
  } catch {
    return [];
  }
  const manifests: ModelManifest[] = [];
  for (const folder of folders) {
    try {
      manifests.push(JSON.parse(await fs.readFile(path.join(modelsFolder(), folder, 'manifest.json'), 'utf8')) as ModelManifest);
    } catch {
      // A folder without a readable manifest is an interrupted add: not a model.
    }
  }
  return manifests.sort((a, b) => b.addedAt.localeCompare(a.addedAt));
}

/**
 * Copies a model (an .onnx file, or a TF.js folder with model.json and its weights) into the registry.
 * Adding the same model twice returns the existing entry.
 */
export async function addModelFromPath(source: string, options: { name?: string; licence?: string; origin?: string } = {}): Promise<ModelManifest> {
  const resolved = await resolveModelPath(source);
  const files =
    resolved.format === 'onnx'
      ? [resolved.file]
      : [resolved.file, ...((JSON.parse(await fs.readFile(resolved.file, 'utf8')).weightsManifest ?? []) as { paths: string[] }[]).flatMap((group) =>
          group.paths.map((shard) => path.join(path.dirname(resolved.file), shard)),
        )];
  for (const file of files) if (!existsSync(file)) throw new Error(`The model is incomplete: ${file} is missing.`);
  const sha256 = await sha256OfFiles(files);
  const baseName = resolved.format === 'onnx' ? path.basename(resolved.file) : path.basename(path.dirname(resolved.file));
  const id = `${slug(baseName)}-${sha256.slice(0, 12)}`;
  // The same bytes under another name (a download of a file added from disk) are the same model.
  const existing = (await listModels()).find((model) => model.id === id || (model.sha256 === sha256 && model.format === resolved.format));
  if (existing) return existing;
  const folder = path.join(modelsFolder(), id);
  const staging = `${folder}.partial`;
  await fs.rm(staging, { recursive: true, force: true });
  await fs.mkdir(staging, { recursive: true });
  const entry = resolved.format === 'onnx' ? path.basename(resolved.file) : 'tfjs';
  if (resolved.format === 'onnx') await fs.copyFile(resolved.file, path.join(staging, entry));
  else {
    await fs.mkdir(path.join(staging, entry));
    for (const file of files) await fs.copyFile(file, path.join(staging, entry, path.relative(path.dirname(resolved.file), file)));
  }
  for (const sidecar of [resolved.manifestFile]) if (existsSync(sidecar)) await fs.copyFile(sidecar, path.join(staging, resolved.format === 'onnx' ? `${entry}.json` : path.join(entry, 'specimen-sorter.json')));
  const manifest: ModelManifest = {
    id,
    name: options.name ?? baseName,
    format: resolved.format,
    entry,
    sha256,
    source: options.origin ?? path.resolve(source),
    licence: options.licence ?? null,
    addedAt: new Date().toISOString(),
  };
  await fs.writeFile(path.join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  // The folder appears complete or not at all.
  await fs.rename(staging, folder);
  return manifest;
}

function get(url: string, headers: Record<string, string>): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : url.startsWith('http:') ? http : null;
    if (!client) return reject(new Error(`Only http and https URLs can be downloaded, not ${url}.`));
    client.get(url, { headers }, resolve).on('error', (error) => reject(new Error(`Download failed: ${error.message}. Check the address and the network, then try again (it resumes).`)));
  });
}

/**
 * Downloads an .onnx model from a URL into the cache, resuming a partial download (HTTP Range), checks
 * its sha256 when one is given, and registers it.
 */
export async function addModelFromUrl(
  url: string,
  options: LongWorkOptions & { sha256?: string; name?: string; licence?: string } = {},
): Promise<ModelManifest> {
  const { signal, onProgress } = options;
  const downloads = path.join(appDataFolder(), 'downloads');
  await fs.mkdir(downloads, { recursive: true });
  const fileName = path.basename(new URL(url).pathname) || 'model.onnx';
  if (!fileName.endsWith('.onnx')) throw new Error('Only .onnx files can be downloaded; for a TF.js model, download its folder and add it from disk.');
  // One folder per URL, so the model keeps its published file name (and the id made from it).
  const folder = path.join(downloads, createHash('sha256').update(url).digest('hex').slice(0, 16));
  await fs.mkdir(folder, { recursive: true });
  const target = path.join(folder, fileName);
  const partial = `${target}.part`;
  let have = existsSync(partial) ? (await fs.stat(partial)).size : 0;
  for (let redirects = 0; ; redirects++) {
    const response = await get(url, have > 0 ? { range: `bytes=${have}-` } : {});
    if (response.statusCode && response.statusCode >= 300 && response.statusCode < 400 && response.headers.location && redirects < 5) {
      response.resume();
      url = new URL(response.headers.location, url).href;
      continue;
    }
    if (response.statusCode === 416) {
      response.resume();
      break;
    }
    if (response.statusCode !== 200 && response.statusCode !== 206) {
      response.resume();
      throw new Error(`The server answered ${response.statusCode} for ${url}. Check the address.`);
    }
    if (response.statusCode === 200) have = 0;
    const total = have + Number(response.headers['content-length'] ?? 0);
    const out = createWriteStream(partial, { flags: have > 0 ? 'a' : 'w' });
    let received = have;
    await new Promise<void>((resolve, reject) => {
      const abort = () => {
        response.destroy();
        out.end();
        reject(new CancelledError());
      };
      signal?.addEventListener('abort', abort, { once: true });
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        onProgress?.({ fraction: total > 0 ? received / total : 0, message: `Downloaded ${(received / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB` });
      });
      response.on('error', (error) => reject(new Error(`The download broke off: ${error.message}. Run the same command again to resume.`)));
      response.on('aborted', () => reject(new Error('The download broke off. Run the same command again to resume.')));
      out.on('error', reject);
      out.on('finish', () => {
        signal?.removeEventListener('abort', abort);
        resolve();
      });
      response.pipe(out);
    });
    break;
  }
  const sha256 = await sha256OfFiles([partial]);
  if (options.sha256 && options.sha256.toLowerCase() !== sha256) {
    await fs.rm(partial, { force: true });
    throw new Error(`The downloaded file's sha256 is ${sha256}, not the expected ${options.sha256}: it was corrupted or changed. Try again, or check the published checksum.`);
  }
  await fs.rename(partial, target);
  try {
    return await addModelFromPath(target, { name: options.name, licence: options.licence, origin: url });
  } finally {
    await fs.rm(target, { force: true });
  }
}

/** Where a registered model's file (ONNX) or folder (TF.js) is. */
export function registeredModelPath(manifest: ModelManifest): string {
  return path.join(modelsFolder(), manifest.id, manifest.entry);
}

/** Turns a registry id (or id prefix) or a path into a path `loadBackbone` accepts. */
export async function resolveModelReference(reference: string): Promise<string> {
  if (existsSync(reference)) return path.resolve(reference);
  const matches = (await listModels()).filter((model) => model.id === reference || model.id.startsWith(reference) || model.name === reference);
  if (matches.length === 1) return registeredModelPath(matches[0]!);
  if (matches.length > 1) throw new Error(`"${reference}" matches ${matches.length} models (${matches.map((model) => model.id).join(', ')}); use the full id.`);
  throw new Error(`No model "${reference}": give a path to an .onnx file or TF.js folder, or the id of a model added with \`specimen-sorter models add\`.`);
}
