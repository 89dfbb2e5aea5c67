/** Finds the backbone to use when the user names none. */
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Candidate model paths, best first: `SPECIMEN_SORTER_MODEL`, the model bundled in `resources/models/`,
 * then the shared development models beside the repository (`../shared/models/`).
 */
export function defaultModelCandidates(appRoot: string, resourcesPath?: string): string[] {
  const candidates: string[] = [];
  if (process.env.SPECIMEN_SORTER_MODEL) candidates.push(process.env.SPECIMEN_SORTER_MODEL);
  for (const resources of [resourcesPath, path.join(appRoot, 'resources')]) {
    if (!resources) continue;
    candidates.push(path.join(resources, 'models', 'default'));
    candidates.push(path.join(resources, 'models', 'tm-mobilenetv2-0.35'));
  }
  candidates.push(path.join(appRoot, '..', 'shared', 'models', 'tm-mobilenetv2-0.35'));
  candidates.push(path.join(appRoot, '..', 'shared', 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.onnx'));
  return candidates;
}

/** The first candidate that exists, or null. */
export function findDefaultModel(appRoot: string, resourcesPath?: string): string | null {
  return defaultModelCandidates(appRoot, resourcesPath).find((candidate) => existsSync(candidate)) ?? null;
}
