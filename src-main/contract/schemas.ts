/** Runtime validation of every request, because the renderer is untrusted. Mirrors `api.ts`. */
import { z } from 'zod';
import type { Channel, RequestOf } from './api';
import { TRAINING_LIMITS } from './limits';

const empty = z.object({}).strict();
const speciesName = z.string().trim().min(1).max(200);

/** The fields of `ImageFilter`. */
const imageFilter = {
  clusterId: z.number().int().min(1).optional(),
  status: z.enum(['ok', 'error']).optional(),
  species: speciesName.optional(),
  labeled: z.boolean().optional(),
  search: z.string().max(500).optional(),
};

/** One schema per channel; a request that fails its schema is rejected before any handler runs. */
export const requestSchemas: { [C in Channel]: z.ZodType<RequestOf<C>> } = {
  'project:info': empty,
  'images:list': z
    .object({
      ...imageFilter,
      offset: z.number().int().min(0),
      limit: z.number().int().min(1).max(5000),
    })
    .strict(),
  'images:ids': z.object(imageFilter).strict(),
  'map:points': z.object({ method: z.enum(['pca', 'umap']).optional(), seed: z.number().int().min(0).max(2 ** 32 - 1).optional() }).strict(),
  'evaluate:confusion': empty,
  'import:pick-folder': empty,
  'import:start': z.object({ folder: z.string().min(1).max(4096), labelsFromFolders: z.boolean() }).strict(),
  'clusters:run': z
    .object({
      method: z.enum(['kmeans', 'spectral', 'seeded', 'gmm', 'agglomerative', 'hdbscan']),
      k: z.number().int().min(1).max(100_000),
      seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
      tta: z.boolean().optional(),
      scales: z.array(z.number().int().min(32).max(1024)).min(1).max(6).nullable().optional(),
    })
    .strict(),
  'clusters:suggest-k': z
    .object({ maxK: z.number().int().min(3).max(500).optional(), criterion: z.enum(['eigengap', 'silhouette', 'stability']).optional() })
    .strict(),
  'clusters:latest': empty,
  'clusters:rename': z
    .object({ runId: z.number().int().min(1), clusterId: z.number().int().min(1), name: z.string().max(200) })
    .strict(),
  'clusters:merge': z.object({ runId: z.number().int().min(1), clusterIds: z.array(z.number().int().min(1)).min(2).max(10_000) }).strict(),
  'clusters:split': z.object({ runId: z.number().int().min(1), clusterId: z.number().int().min(1), parts: z.number().int().min(2).max(50).optional() }).strict(),
  'clusters:move': z
    .object({ runId: z.number().int().min(1), imageIds: z.array(z.number().int().min(1)).min(1).max(1_000_000), toClusterId: z.number().int().min(1).nullable() })
    .strict(),
  'clusters:undo': z.object({ runId: z.number().int().min(1) }).strict(),
  'clusters:runs': empty,
  'clusters:mark-species': z.object({ runId: z.number().int().min(1), clusterId: z.number().int().min(1), species: speciesName }).strict(),
  'species:list': empty,
  'species:rename': z.object({ from: speciesName, to: speciesName }).strict(),
  'species:set-color': z.object({ name: speciesName, color: z.string().regex(/^#[0-9a-f]{6}$/i).nullable() }).strict(),
  'labels:import-csv': z.object({ csv: z.string().min(1).max(16_000_000), dryRun: z.boolean().optional() }).strict(),
  'labels:set': z
    .object({
      items: z
        .array(
          z
            .object({
              imageId: z.number().int().min(1),
              species: z.string().trim().min(1).max(200).nullable(),
              source: z.enum(['folder', 'csv', 'user']).optional(),
            })
            .strict(),
        )
        .min(1)
        .max(100_000),
    })
    .strict(),
  'export:csv': empty,
  'training:start': z
    .object({
      way: z.number().int().min(TRAINING_LIMITS.way.min).max(TRAINING_LIMITS.way.max).optional(),
      shot: z.number().int().min(TRAINING_LIMITS.shot.min).max(TRAINING_LIMITS.shot.max).optional(),
      query: z.number().int().min(TRAINING_LIMITS.query.min).max(TRAINING_LIMITS.query.max).optional(),
      tasksPerEpoch: z.number().int().min(TRAINING_LIMITS.tasksPerEpoch.min).max(TRAINING_LIMITS.tasksPerEpoch.max).optional(),
      epochs: z.number().int().min(TRAINING_LIMITS.epochs.min).max(TRAINING_LIMITS.epochs.max).optional(),
      alpha: z.number().min(TRAINING_LIMITS.alpha.min).max(TRAINING_LIMITS.alpha.max).optional(),
      loss: z.enum(['proto', 'scatter', 'kcl', 'mcl']).optional(),
      learningRate: z.number().positive().max(TRAINING_LIMITS.learningRate.max).optional(),
      seed: z.number().int().min(TRAINING_LIMITS.seed.min).max(TRAINING_LIMITS.seed.max).optional(),
      trainable: z.enum(['head', 'last-blocks']).optional(),
    })
    .strict(),
  'training:resume': empty,
  'models:list': empty,
  'models:add': z
    .object({
      source: z.string().trim().min(1).max(4096),
      sha256: z.string().regex(/^[0-9a-f]{64}$/i).optional(),
      name: z.string().trim().min(1).max(200).optional(),
    })
    .strict(),
  'models:use': z.object({ id: z.string().trim().min(1).max(4096) }).strict(),
  'jobs:active': empty,
  'jobs:cancel': z.object({ jobId: z.string().min(1).max(100) }).strict(),
};

/** Validates a request for `channel`; throws an Error naming the first problem. */
export function parseRequest<C extends Channel>(channel: C, request: unknown): RequestOf<C> {
  const schema = requestSchemas[channel] as z.ZodType<RequestOf<C>> | undefined;
  if (!schema) throw new Error(`Unknown channel: ${String(channel)}`);
  const result = schema.safeParse(request);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`Invalid request for ${channel}: ${issue.path.join('.') || 'request'}: ${issue.message}`);
  }
  return result.data;
}

/** True when `name` is a known channel. */
export function isChannel(name: string): name is Channel {
  return Object.hasOwn(requestSchemas, name);
}
