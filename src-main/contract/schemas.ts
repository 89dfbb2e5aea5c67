/** Runtime validation of every request, because the renderer is untrusted. Mirrors `api.ts`. */
import { z } from 'zod';
import type { Channel, RequestOf } from './api';

const empty = z.object({}).strict();

/** One schema per channel; a request that fails its schema is rejected before any handler runs. */
export const requestSchemas: { [C in Channel]: z.ZodType<RequestOf<C>> } = {
  'project:info': empty,
  'images:list': z
    .object({
      offset: z.number().int().min(0),
      limit: z.number().int().min(1).max(5000),
      clusterId: z.number().int().min(1).optional(),
    })
    .strict(),
  'import:pick-folder': empty,
  'import:start': z.object({ folder: z.string().min(1).max(4096), labelsFromFolders: z.boolean() }).strict(),
  'clusters:run': z
    .object({
      method: z.enum(['kmeans', 'spectral', 'seeded']),
      k: z.number().int().min(1).max(100_000),
      seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
      tta: z.boolean().optional(),
    })
    .strict(),
  'clusters:suggest-k': z.object({ maxK: z.number().int().min(3).max(500).optional() }).strict(),
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
  'species:list': empty,
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
      way: z.number().int().min(2).max(200).optional(),
      shot: z.number().int().min(1).max(50).optional(),
      query: z.number().int().min(1).max(50).optional(),
      tasksPerEpoch: z.number().int().min(1).max(10_000).optional(),
      epochs: z.number().int().min(1).max(100).optional(),
      alpha: z.number().min(0).max(1).optional(),
      loss: z.enum(['proto', 'scatter', 'kcl', 'mcl']).optional(),
      learningRate: z.number().positive().max(1).optional(),
      seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
    })
    .strict(),
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
