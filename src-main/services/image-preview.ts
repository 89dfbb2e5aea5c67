/** The full-size view of a photo: a cached screen-sized JPEG of the original (see core/images/preview.ts). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PREVIEW_SIZE, writePreview } from '../core/images/preview';
import type { Project } from './project';

// Previews being written, by target file, so that two requests for one photo decode it once.
const inFlight = new Map<string, Promise<void>>();

/** Where the preview of a content hash is cached: `<project>/previews/<sha256>-<size>.jpg`. */
export function previewPath(project: Project, sha256: string, maxSide = PREVIEW_SIZE): string {
  return path.join(project.folder, 'previews', `${sha256}-${maxSide}.jpg`);
}

/**
 * The file of an image's viewer preview, written on first use; null when there is no such readable image.
 * Throws with a reason when the original cannot be read any more (moved or deleted: relink the folder).
 */
export async function imagePreviewFile(project: Project, imageId: number): Promise<string | null> {
  const image = project.store.image(imageId);
  if (!image?.sha256 || image.status !== 'ok') return null;
  const target = previewPath(project, image.sha256);
  const cached = await fs.stat(target).then(
    (stats) => stats.isFile(),
    () => false,
  );
  if (cached) return target;
  let writing = inFlight.get(target);
  if (!writing) {
    writing = writePreview(image.path, target)
      .then(() => undefined)
      .catch((error: Error) => {
        throw new Error(`Cannot open ${image.path}: ${error.message.split('\n')[0]}. If the folder moved, relink it.`);
      })
      .finally(() => inFlight.delete(target));
    inFlight.set(target, writing);
  }
  await writing;
  return target;
}
