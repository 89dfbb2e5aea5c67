/**
 * Embeds a project's images with a backbone: decode the next batch while the model runs on the current
 * one, store each batch's vectors in one transaction. Embeddings are keyed by (content hash, model id),
 * so unchanged photos are never embedded twice.
 */
import type { Backbone } from '../core/backbones/backbone';
import { decodeForModel } from '../core/images/decode';
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

/** Embeds every readable image of the project that has no embedding from `backbone` yet. */
export async function embedMissing(store: ProjectStore, backbone: Backbone, options: EmbedOptions = {}): Promise<EmbedSummary> {
  const { signal, onProgress, batchSize = 32, variant } = options;
  const started = performance.now();
  const modelId = embeddingModelId(backbone.id, variant);
  store.saveModel({ ...backbone, id: modelId });
  const { imageCount, failedCount } = store.counts();
  const readable = imageCount - failedCount;
  const todo = store.imagesMissingEmbedding(modelId);
  const cached = Math.max(0, store.embeddedCount(modelId));
  const perImage = 3 * backbone.preprocessing.size * backbone.preprocessing.size;
  let failed = 0;
  const decodeBatch = async (items: typeof todo) => {
    const tensor = new Float32Array(items.length * perImage);
    const kept: typeof todo = [];
    const results = await Promise.allSettled(items.map((item) => decodeForModel(item.path, backbone.preprocessing, variant === 'flip')));
    results.forEach((result, index) => {
      if (result.status === 'fulfilled') {
        tensor.set(result.value, kept.length * perImage);
        kept.push(items[index]!);
      } else {
        failed++;
        store.markContentUnreadable(items[index]!.sha256, `Cannot decode for embedding: ${(result.reason as Error).message}`);
      }
    });
    return { tensor: tensor.subarray(0, kept.length * perImage), items: kept };
  };
  let done = 0;
  let nextDecode = todo.length > 0 ? decodeBatch(todo.slice(0, batchSize)) : null;
  for (let start = 0; start < todo.length; start += batchSize) {
    throwIfCancelled(signal);
    const batch = await nextDecode!;
    const following = start + batchSize;
    nextDecode = following < todo.length ? decodeBatch(todo.slice(following, following + batchSize)) : null;
    if (batch.items.length > 0) {
      const features = await backbone.embed(batch.tensor, batch.items.length);
      store.putEmbeddings(
        modelId,
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
