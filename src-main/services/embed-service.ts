/**
 * Embeds a project's images with a backbone: decode the next batch while the model runs on the current
 * one, store each batch's vectors in one transaction. Embeddings are keyed by (content hash, model id),
 * so unchanged photos are never embedded twice.
 */
import type { Backbone } from '../core/backbones/backbone';
import { decodeForModel, mirrorTensor } from '../core/images/decode';
import { type LongWorkOptions, throwIfCancelled } from '../core/util/progress';
import type { ProjectStore } from './project-store';

/** What an embedding pass did. */
export interface EmbedSummary {
  modelId: string;
  runtime: string;
  embedded: number;
  /** Images skipped because an embedding for their content already existed. */
  cached: number;
  failed: number;
  seconds: number;
}

/** Embedding settings. */
export interface EmbedOptions extends LongWorkOptions {
  /** Images per model call. Default 32. */
  batchSize?: number;
  /** `flip` embeds mirrored images, stored under their own model id, for augmentation and test-time averaging. */
  variant?: 'flip';
  /** Also embed each photo's mirror image (under the `#flip` model id) from the same decode. */
  withMirror?: boolean;
  /** Only photos with these content hashes (e.g. the labeled ones last-block training reads); default all. */
  only?: ReadonlySet<string>;
}

/** The id embeddings are stored under: the backbone's id, with `#flip` for mirrored images. */
export function embeddingModelId(backboneId: string, variant?: 'flip'): string {
  return variant ? `${backboneId}#${variant}` : backboneId;
}

/** Formats seconds as `1 min 05 s` or `12 s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const rounded = Math.round(seconds);
  if (rounded < 60) return `${rounded} s`;
  return `${Math.floor(rounded / 60)} min ${String(rounded % 60).padStart(2, '0')} s`;
}

/**
 * Embeds every readable image of the project that has no embedding from `backbone` yet. With `withMirror`,
 * each photo is decoded once for both views: the mirror image's tensor is the decoded one reversed row by
 * row (`mirrorTensor`), embedded under the `#flip` model id.
 */
export async function embedMissing(store: ProjectStore, backbone: Backbone, options: EmbedOptions = {}): Promise<EmbedSummary> {
  const { signal, onProgress, batchSize = 32, variant, withMirror = false } = options;
  const started = performance.now();
  const modelId = embeddingModelId(backbone.id, variant);
  /** The views stored per photo: [model id, mirrored?]. */
  const views: [string, boolean][] = [[modelId, variant === 'flip']];
  if (withMirror && variant !== 'flip') views.push([embeddingModelId(backbone.id, 'flip'), true]);
  for (const [id] of views) store.saveModel({ ...backbone, id });
  const { imageCount, failedCount } = store.counts();
  const readable = imageCount - failedCount;
  // Photos missing any view, once each, with which views they miss.
  const { only } = options;
  const missingRows = views.map(([id]) => store.imagesMissingEmbedding(id).filter((row) => !only || only.has(row.sha256)));
  const missing = missingRows.map((rows) => new Set(rows.map((row) => row.sha256)));
  const todo: { path: string; sha256: string }[] = [];
  const seen = new Set<string>();
  for (const row of missingRows.flat()) {
    if (seen.has(row.sha256)) continue;
    seen.add(row.sha256);
    todo.push(row);
  }
  const cached = Math.max(0, store.embeddedCount(modelId));
  const perImage = 3 * backbone.preprocessing.size * backbone.preprocessing.size;
  let failed = 0;
  const decodeBatch = async (items: typeof todo) => {
    const tensors = views.map(() => ({ tensor: new Float32Array(items.length * perImage), items: [] as typeof todo }));
    const results = await Promise.allSettled(items.map((item) => decodeForModel(item.path, backbone.preprocessing)));
    results.forEach((result, index) => {
      const item = items[index]!;
      if (result.status === 'fulfilled') {
        views.forEach(([, mirrored], view) => {
          if (!missing[view]!.has(item.sha256)) return;
          const target = tensors[view]!;
          target.tensor.set(mirrored ? mirrorTensor(result.value, backbone.preprocessing) : result.value, target.items.length * perImage);
          target.items.push(item);
        });
      } else {
        failed++;
        store.markContentUnreadable(item.sha256, `Cannot decode for embedding: ${(result.reason as Error).message}`);
      }
    });
    return tensors.map(({ tensor, items: kept }) => ({ tensor: tensor.subarray(0, kept.length * perImage), items: kept }));
  };
  let done = 0;
  let nextDecode = todo.length > 0 ? decodeBatch(todo.slice(0, batchSize)) : null;
  for (let start = 0; start < todo.length; start += batchSize) {
    throwIfCancelled(signal);
    const batches = await nextDecode!;
    const following = start + batchSize;
    nextDecode = following < todo.length ? decodeBatch(todo.slice(following, following + batchSize)) : null;
    for (const [view, batch] of batches.entries()) {
      if (batch.items.length === 0) continue;
      const features = await backbone.embed(batch.tensor, batch.items.length);
      store.putEmbeddings(
        views[view]![0],
        backbone.dims,
        batch.items.map((item, index) => ({
          sha256: item.sha256,
          vector: features.slice(index * backbone.dims, (index + 1) * backbone.dims),
        })),
      );
    }
    done = Math.min(following, todo.length);
    const elapsed = (performance.now() - started) / 1000;
    const rate = done / elapsed;
    onProgress?.({
      fraction: done / todo.length,
      message: `Embedded ${done} of ${todo.length} images, ${rate.toFixed(1)} images/s, ${formatDuration((todo.length - done) / rate)} left (${backbone.runtime})`,
    });
  }
  if (nextDecode) await nextDecode.catch(() => undefined);
  return {
    modelId,
    runtime: backbone.runtime,
    embedded: todo.length - failed,
    cached: Math.min(cached, readable),
    failed,
    seconds: (performance.now() - started) / 1000,
  };
}
