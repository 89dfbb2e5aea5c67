/**
 * The models a project can embed with, as the app shows them: the bundled default plus every model added to
 * this machine's registry, which one is in use, and adding one (checked by loading it) or switching to one.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ModelInfo } from '../contract/api';
import { loadBackbone, preferredRuntime, resolveModelPath } from '../core/backbones/load-backbone';
import type { LongWorkOptions } from '../core/util/progress';
import { addModelFromPath, addModelFromUrl, listModels, registeredModelPath, resolveModelReference, type ModelManifest } from './model-registry';
import { MODEL_SETTING, type Project } from './project';

/** The id the bundled default model is listed under. */
export const BUNDLED_MODEL_ID = 'bundled';

/** Every model the project could use, the one in use marked; the runtime inference runs on. */
export async function listProjectModels(project: Project): Promise<{ models: ModelInfo[]; runtime: string }> {
  const current = project.modelPath();
  const inUse = (file: string) => current !== null && path.resolve(current) === path.resolve(file);
  const models: ModelInfo[] = [];
  if (project.defaultModelPath && existsSync(project.defaultModelPath)) {
    const resolved = await resolveModelPath(project.defaultModelPath);
    models.push({
      id: BUNDLED_MODEL_ID,
      name: `${path.basename(project.defaultModelPath)} (bundled)`,
      format: resolved.format,
      source: project.defaultModelPath,
      sha256: null,
      path: project.defaultModelPath,
      inUse: inUse(project.defaultModelPath),
    });
  }
  for (const manifest of await listModels()) {
    const file = registeredModelPath(manifest);
    models.push(fromManifest(manifest, file, inUse(file)));
  }
  // A model set by path (the CLI's --model) that is neither bundled nor registered is still shown.
  if (current && !models.some((model) => model.inUse) && existsSync(current)) {
    const resolved = await resolveModelPath(current);
    models.push({ id: current, name: path.basename(current), format: resolved.format, source: current, sha256: null, path: current, inUse: true });
  }
  return { models, runtime: preferredRuntime() };
}

function fromManifest(manifest: ModelManifest, file: string, inUse: boolean): ModelInfo {
  return { id: manifest.id, name: manifest.name, format: manifest.format, source: manifest.source, sha256: manifest.sha256, path: file, inUse };
}

/**
 * Adds a model from a path or an http(s) URL and checks that it loads and gives features; returns the
 * message for the user. Loading creates an inference session, so this runs in the job worker.
 */
export async function addModel(source: string, options: LongWorkOptions & { sha256?: string | undefined; name?: string | undefined }): Promise<string> {
  const isUrl = /^https?:\/\//i.test(source);
  const manifest = isUrl
    ? await addModelFromUrl(source, { signal: options.signal, onProgress: options.onProgress, sha256: options.sha256, name: options.name })
    : await addModelFromPath(source, { name: options.name });
  options.onProgress?.({ fraction: 1, message: `Checking ${manifest.name} loads` });
  const backbone = await loadBackbone(await resolveModelReference(manifest.id));
  try {
    return `Added ${manifest.name} (${manifest.format}, ${backbone.dims}-d features on ${backbone.runtime}). Choose it under Model to embed with it.`;
  } finally {
    await backbone.dispose();
  }
}

/** Makes the project embed with a model from `listProjectModels` (by id) or a path; the next clustering run embeds with it. */
export async function useModel(project: Project, id: string): Promise<ModelInfo> {
  const { models } = await listProjectModels(project);
  const known = models.find((model) => model.id === id);
  const file = known ? known.path : await resolveModelReference(id);
  await resolveModelPath(file);
  project.store.setSetting(MODEL_SETTING, file);
  const chosen = (await listProjectModels(project)).models.find((model) => model.inUse);
  if (!chosen) throw new Error(`The model ${id} could not be selected; add it again under Model.`);
  return chosen;
}
