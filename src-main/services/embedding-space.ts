/**
 * Which embeddings clustering uses: the backbone's own features, or features averaged over several input
 * sizes (`embedding.scales`), averaged with their mirror image, and, after fine-tuning, mapped through the
 * project's active adapter.
 */
import type { Backbone } from '../core/backbones/backbone';
import type { LastBlockWeights } from '../core/backbones/tfjs-to-onnx';
import { applyAdapter, decodeAdapter } from '../core/training/adapter';
import type { BlockInputs } from '../core/training/last-block';
import type { LongWorkOptions } from '../core/util/progress';
import { type EmbedSummary, embedMissing, embeddingModelId } from './embed-service';
import type { Project } from './project';
import type { ProjectStore } from './project-store';
import { gatherRows } from '../core/util/rows';

/** Setting key of the active adapter's checkpoint id. */
export const ACTIVE_CHECKPOINT_SETTING = 'training.checkpoint';

/** The embedding model id of an adapter checkpoint over a backbone (or over multi-scale features, see `multiScaleId`). */
export function adapterModelId(backboneId: string, checkpointId: number): string {
  return `${backboneId}+adapter-${checkpointId}`;
}

/**
 * Setting key of the square input sizes in pixels whose features are averaged, e.g. `224,288,320`. Unset:
 * only the model's own size. Each size costs one more embedding pass (about the square of the size).
 */
export const SCALES_SETTING = 'embedding.scales';

/**
 * Parses a list of input sizes such as `224,288,320`: whole numbers of pixels in 32..1024, duplicates
 * dropped, sorted ascending (so the same sizes always give the same feature id).
 */
export function parseScales(text: string): number[] {
  const sizes = text.split(',').map((part) => part.trim()).filter((part) => part !== '').map((part) => {
    const size = Number(part);
    if (!Number.isInteger(size) || size < 32 || size > 1024) throw new Error(`Input sizes must be whole numbers of pixels from 32 to 1024, not "${part}".`);
    return size;
  });
  if (sizes.length === 0) throw new Error('Give at least one input size, e.g. 224 or 224,288,320.');
  return [...new Set(sizes)].sort((first, second) => first - second);
}

/** The project's input sizes from `embedding.scales`, or null for the model's own size. */
export function projectScales(store: ProjectStore): number[] | null {
  const text = store.setting(SCALES_SETTING);
  return text && text.trim() !== '' ? parseScales(text) : null;
}

/**
 * One backbone per input size (null: just the model's own). The model's own size is the plain backbone, so
 * its cached embeddings keep their id; other sizes load the model again with that input size (`<id>@<size>`).
 * `lastBlock` loads them with the last block cut off or replaced (see `LoadBackboneOptions`).
 */
export async function scaleBackbones(project: Project, scales: readonly number[] | null, modelPath?: string, lastBlock?: 'input' | LastBlockWeights): Promise<Backbone[]> {
  const base = await project.backbone(modelPath, { lastBlock });
  if (!scales || scales.length === 0) return [base];
  const backbones: Backbone[] = [];
  for (const size of scales) backbones.push(size === base.preprocessing.size ? base : await project.backbone(modelPath, { inputSize: size, lastBlock }));
  return backbones;
}

/**
 * The id of features averaged over backbones at several input sizes: one backbone's own id, else the model's
 * id with the sizes, e.g. `tm-mobilenetv2-0.35-0f20878d253f@224+288+320`.
 */
export function multiScaleId(backbones: readonly Backbone[]): string {
  if (backbones.length === 0) throw new Error('multiScaleId needs at least one backbone.');
  if (backbones.length === 1) return backbones[0]!.id;
  return `${backbones[0]!.id.replace(/@\d+$/, '')}@${backbones.map((backbone) => backbone.preprocessing.size).join('+')}`;
}

/** Embeds what is missing at every input size (each photo decoded once per size); progress is split evenly. */
export async function embedScales(store: ProjectStore, backbones: readonly Backbone[], options: LongWorkOptions & { withMirror?: boolean; only?: ReadonlySet<string> } = {}): Promise<EmbedSummary[]> {
  const { onProgress } = options;
  const summaries: EmbedSummary[] = [];
  for (const [index, backbone] of backbones.entries()) {
    summaries.push(
      await embedMissing(store, backbone, {
        signal: options.signal,
        withMirror: options.withMirror,
        only: options.only,
        onProgress: onProgress && ((progress) => onProgress({ fraction: (index + progress.fraction) / backbones.length, message: backbones.length > 1 ? `${backbone.preprocessing.size} px: ${progress.message}` : progress.message })),
      }),
    );
  }
  return summaries;
}

/** Per image, the features averaged over input sizes, for the plain and the mirrored photo. */
export interface ScaleAveragedViews {
  imageIds: number[];
  dims: number;
  /** count x dims, the plain photo's features averaged over the sizes. */
  plain: Float32Array;
  /** count x dims, the mirrored photo's features averaged over the sizes; the plain ones where a mirrored view is missing. */
  mirrored: Float32Array;
}

/**
 * Features of every image embedded at all the given backbone ids, averaged over them (plain and mirrored
 * views separately, without rescaling: the mean of the raw pooled features, as measured in the README).
 *
 * scaleAveragedViews(store, ['m-0f20878d253f', 'm-0f20878d253f@288']) // { imageIds: [1, 2, ...], dims: 1280, plain, mirrored }
 */
export function scaleAveragedViews(store: ProjectStore, backboneIds: readonly string[]): ScaleAveragedViews {
  const plainSets = backboneIds.map((id) => store.embeddingsForImages(embeddingModelId(id)));
  const mirroredSets = backboneIds.map((id) => store.embeddingsForImages(embeddingModelId(id, 'flip')));
  const dims = plainSets[0]!.dims;
  for (const set of plainSets) if (set.imageIds.length > 0 && set.dims !== dims) throw new Error(`Backbones ${backboneIds.join(', ')} give features of different lengths.`);
  const rowMaps = (sets: typeof plainSets) => sets.map((set) => new Map(set.imageIds.map((id, row) => [id, row])));
  const plainRows = rowMaps(plainSets);
  const mirroredRows = rowMaps(mirroredSets);
  const imageIds = plainSets[0]!.imageIds.filter((id) => plainRows.every((rows) => rows.has(id)));
  const plain = new Float32Array(imageIds.length * dims);
  const mirrored = new Float32Array(imageIds.length * dims);
  const scale = 1 / backboneIds.length;
  const accumulate = (target: Float32Array, index: number, source: Float32Array, row: number) => {
    for (let d = 0; d < dims; d++) target[index * dims + d]! += source[row * dims + d]! * scale;
  };
  imageIds.forEach((id, index) => {
    plainSets.forEach((set, view) => accumulate(plain, index, set.data, plainRows[view]!.get(id)!));
    if (mirroredRows.every((rows) => rows.has(id))) mirroredSets.forEach((set, view) => accumulate(mirrored, index, set.data, mirroredRows[view]!.get(id)!));
    else mirrored.set(plain.subarray(index * dims, (index + 1) * dims), index * dims);
  });
  return { imageIds, dims, plain, mirrored };
}

/** Features of every readable image averaged over input sizes and with the mirrored image's (test-time augmentation). */
export function augmentedFeatures(store: ProjectStore, backboneIds: string | readonly string[]): { imageIds: number[]; sha256: string[]; dims: number; data: Float32Array } {
  const views = scaleAveragedViews(store, typeof backboneIds === 'string' ? [backboneIds] : backboneIds);
  return { ...withSha256(store, views.imageIds), dims: views.dims, data: views.plain.map((value, index) => (value + views.mirrored[index]!) / 2) };
}

function withSha256(store: ProjectStore, imageIds: number[]): { imageIds: number[]; sha256: string[] } {
  const sha = new Map(
    (store.database.prepare("SELECT id, sha256 FROM images WHERE status = 'ok'").all() as { id: number; sha256: string }[]).map((row) => [row.id, row.sha256]),
  );
  return { imageIds, sha256: imageIds.map((id) => sha.get(id)!) };
}

/** Setting key of test-time augmentation: `on` (default) averages each photo's features with its mirror image's. */
export const TTA_SETTING = 'embedding.tta';

/** The embedding model id of mirror-averaged backbone features. */
export function ttaModelId(backboneId: string): string {
  return `${backboneId}+tta`;
}

/** Whether test-time augmentation is on for a project (default on: measured +0.004 to +0.017 ARI, see README). */
export function ttaEnabled(store: ProjectStore): boolean {
  return store.setting(TTA_SETTING) !== 'off';
}

/**
 * Embeds what is missing and returns the model id to cluster on: the active adapter's when one was trained on
 * these features (same backbone and input sizes); else the mirror-averaged features (test-time augmentation,
 * unless turned off); else the backbone's plain features. With several input sizes (`embedding.scales`) the
 * features are first averaged over the sizes.
 */
export async function prepareEmbeddings(project: Project, options: LongWorkOptions = {}): Promise<{ modelId: string; embedded: number }> {
  const { signal, onProgress } = options;
  const checkpointText = project.store.setting(ACTIVE_CHECKPOINT_SETTING);
  const checkpoint = checkpointText ? project.store.checkpoint(Number(checkpointText)) : null;
  const weights = checkpoint ? decodeAdapter(checkpoint.weights) : null;
  const scales = projectScales(project.store);
  // A checkpoint with a fine-tuned last block reads features of the backbone run with that block; when the
  // project's model has changed since (the block no longer fits), the plain features are used without it.
  const backbones = await (weights?.lastBlock ? scaleBackbones(project, scales, undefined, weights.lastBlock).catch(() => scaleBackbones(project, scales)) : scaleBackbones(project, scales));
  const backbone = backbones[0]!;
  const featuresId = multiScaleId(backbones);
  const useAdapter = checkpoint !== null && checkpoint.modelId === featuresId;
  const useFlip = useAdapter || ttaEnabled(project.store);
  // One decode per photo and size gives both views when the mirrored one is needed too.
  const summaries = await embedScales(project.store, backbones, { signal, onProgress, withMirror: useFlip });
  const embedded = summaries.reduce((sum, summary) => sum + summary.embedded, 0);
  if (!useFlip && backbones.length === 1) return { modelId: backbone.id, embedded };
  const modelId = useAdapter ? adapterModelId(featuresId, checkpoint.id) : useFlip ? ttaModelId(featuresId) : featuresId;
  const missing = new Set(project.store.imagesMissingEmbedding(modelId).map((row) => row.sha256));
  if (missing.size > 0) {
    const backboneIds = backbones.map((each) => each.id);
    const features = useFlip
      ? augmentedFeatures(project.store, backboneIds)
      : (() => {
          const views = scaleAveragedViews(project.store, backboneIds);
          return { ...withSha256(project.store, views.imageIds), dims: views.dims, data: views.plain };
        })();
    const rows = features.sha256.flatMap((sha, row) => (missing.has(sha) ? [row] : []));
    const input = gatherRows(features.data, features.dims, rows);
    const output = useAdapter ? await applyAdapter(weights!, { data: input, count: rows.length, dims: features.dims }) : { data: input, count: rows.length, dims: features.dims };
    const seen = new Set<string>();
    const items = rows.flatMap((row, index) => {
      const sha = features.sha256[row]!;
      if (seen.has(sha)) return [];
      seen.add(sha);
      return [{ sha256: sha, vector: output.data.slice(index * output.dims, (index + 1) * output.dims) }];
    });
    const sizes = backbones.length > 1 ? ` at ${backbones.map((each) => each.preprocessing.size).join(' + ')} px` : '';
    const name = useAdapter ? `${backbone.name}${sizes} + adapter ${checkpoint.id}` : `${backbone.name}${sizes}${useFlip ? ', mirror-averaged' : ''}`;
    const format = useAdapter ? 'adapter' : useFlip ? 'tta' : 'multi-scale';
    project.store.saveModel({ id: modelId, name, source: backbone.source, format, dims: output.dims, preprocessing: backbone.preprocessing });
    project.store.putEmbeddings(modelId, output.dims, items);
  }
  return { modelId, embedded };
}

/**
 * The cached input maps of a backbone's last block (embedded by `lastBlock: 'input'` backbones, one per input
 * size, plain and mirrored) for the given images, in their order, as last-block training reads them.
 * Throws when an image lacks a map: embed them first (`embedScales` with `withMirror`).
 */
export function blockInputsFor(store: ProjectStore, backbones: readonly Backbone[], channels: number, imageIds: readonly number[]): Omit<BlockInputs, 'labels'> {
  const scales = backbones.map((backbone) => {
    const gather = (variant?: 'flip') => {
      const set = store.embeddingsForImages(embeddingModelId(backbone.id, variant));
      const rowOf = new Map(set.imageIds.map((id, row) => [id, row]));
      const rows = imageIds.map((id) => {
        const row = rowOf.get(id);
        if (row === undefined) throw new Error(`Image ${id} has no cached block input at ${backbone.preprocessing.size} px${variant ? ' (mirrored)' : ''}; embed it first.`);
        return row;
      });
      return gatherRows(set.data, set.dims, rows);
    };
    if (backbone.dims % channels !== 0) throw new Error(`${backbone.id} gives ${backbone.dims} values, not a whole number of ${channels}-channel positions.`);
    return { positions: backbone.dims / channels, plain: gather(), mirrored: gather('flip') };
  });
  return { count: imageIds.length, channels, scales };
}
