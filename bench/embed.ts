/**
 * `npm run bench:embed [-- --model <path> --dataset <folder> --batch <n>]`: embedding speed and memory.
 *
 * Runs in one process: (1) the model alone on pre-decoded tensors, (2) the full pipeline (decode with
 * sharp, batch, infer, write to SQLite) on the whole folder, (3) re-embedding it (cached), (4) both views
 * of each photo for mirror averaging, decoded twice (the old way) and once (the app). Prints a table and, as
 * its last line, one JSON object with pipeline_images_per_s, model_only_images_per_s, ratio, peak_rss_mb and
 * cpu_utilisation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadBackbone } from '../src-main/core/backbones/load-backbone';
import { decodeForModel } from '../src-main/core/images/decode';
import { embedMissing } from '../src-main/services/embed-service';
import { importFolder } from '../src-main/services/import-service';
import { Project } from '../src-main/services/project';

// npm runs scripts in the repository root; the shared data sits beside it.
const shared = path.resolve(process.cwd(), '..', 'shared');
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(shared, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.onnx') },
    dataset: { type: 'string', default: path.join(shared, 'data', 'eu_moths') },
    batch: { type: 'string', default: '32' },
  },
});
const batchSize = Number(values.batch);
const cores = os.availableParallelism();

function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

const temporary = mkdtempSync(path.join(os.tmpdir(), 'specimen-bench-embed-'));
try {
  const project = Project.open(path.join(temporary, 'project'), values.model);
  let started = performance.now();
  const imported = await importFolder(project.store, values.dataset, {
    labelsFromFolders: true,
    thumbnailPath: (sha256) => project.thumbnailPath(sha256),
  });
  const importSeconds = (performance.now() - started) / 1000;
  const backbone = await loadBackbone(values.model);
  const count = imported.imported;

  // (1) The model alone: decode a sample once, then time inference over as many images as the folder has.
  const sample = project.store.imagesMissingEmbedding(backbone.id).slice(0, batchSize);
  const tensors = await Promise.all(sample.map((item) => decodeForModel(item.path, backbone.preprocessing)));
  const perImage = tensors[0]!.length;
  const batch = new Float32Array(perImage * tensors.length);
  tensors.forEach((tensor, index) => batch.set(tensor, index * perImage));
  await backbone.embed(batch, tensors.length);
  let cpuBefore = cpuSeconds();
  started = performance.now();
  let done = 0;
  while (done < count) {
    await backbone.embed(batch, tensors.length);
    done += tensors.length;
  }
  const modelSeconds = (performance.now() - started) / 1000;
  const modelCpu = (cpuSeconds() - cpuBefore) / (modelSeconds * cores);
  const modelRate = done / modelSeconds;
  await backbone.dispose();

  // (2) The full pipeline through the service the app uses.
  cpuBefore = cpuSeconds();
  const pipelineBackbone = await project.backbone();
  const summary = await embedMissing(project.store, pipelineBackbone, { batchSize });
  const pipelineCpu = (cpuSeconds() - cpuBefore) / (summary.seconds * cores);
  const pipelineRate = summary.embedded / summary.seconds;

  // (3) Re-embedding the unchanged folder hits the cache.
  started = performance.now();
  const again = await embedMissing(project.store, pipelineBackbone, { batchSize });
  const cachedSeconds = (performance.now() - started) / 1000;

  // (4) The app's default (mirror averaging on): both views of every photo, from one decode each, against
  // the two passes (decoding every photo twice) it replaced. Photos per second, each with both views.
  started = performance.now();
  await embedMissing(project.store, pipelineBackbone, { batchSize, variant: 'flip' });
  const twoPassRate = count / (summary.seconds + (performance.now() - started) / 1000);
  project.store.database.prepare('DELETE FROM embeddings').run();
  started = performance.now();
  await embedMissing(project.store, pipelineBackbone, { batchSize, withMirror: true });
  const oneDecodeRate = count / ((performance.now() - started) / 1000);
  await project.close();

  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const ratio = pipelineRate / modelRate;
  const rows = [
    ['model', `${backbone.name} (${backbone.runtime}, ${backbone.dims}-d)`],
    ['images', String(count)],
    ['import (hash, decode, thumbnail), images/s', (count / importSeconds).toFixed(1)],
    ['model only, images/s', modelRate.toFixed(1)],
    ['full pipeline (decode + infer + store), images/s', pipelineRate.toFixed(1)],
    ['ratio pipeline / model only', ratio.toFixed(3)],
    ['CPU use, model only (of all cores)', `${(modelCpu * 100).toFixed(0)}%`],
    ['CPU use, pipeline (of all cores)', `${(pipelineCpu * 100).toFixed(0)}%`],
    ['re-embed unchanged folder, s', `${cachedSeconds.toFixed(2)} (${again.embedded} embedded)`],
    ['both views (mirror averaging), two decodes, photos/s', twoPassRate.toFixed(1)],
    ['both views, one decode (the app), photos/s', `${oneDecodeRate.toFixed(1)} (${(oneDecodeRate / twoPassRate).toFixed(2)}x)`],
    ['peak RSS, MB', peakRssMb.toFixed(0)],
  ];
  const width = Math.max(...rows.map(([label]) => label!.length));
  console.log(`| ${'measure'.padEnd(width)} | value |`);
  console.log(`|${'-'.repeat(width + 2)}|-------|`);
  for (const [label, value] of rows) console.log(`| ${label!.padEnd(width)} | ${value} |`);
  console.log(
    JSON.stringify({
      model: backbone.id,
      runtime: backbone.runtime,
      images: count,
      batch_size: batchSize,
      pipeline_images_per_s: Number(pipelineRate.toFixed(2)),
      model_only_images_per_s: Number(modelRate.toFixed(2)),
      ratio: Number(ratio.toFixed(4)),
      peak_rss_mb: Number(peakRssMb.toFixed(1)),
      cpu_utilisation: Number(pipelineCpu.toFixed(3)),
      import_images_per_s: Number((count / importSeconds).toFixed(2)),
      both_views_two_decodes_photos_per_s: Number(twoPassRate.toFixed(2)),
      both_views_one_decode_photos_per_s: Number(oneDecodeRate.toFixed(2)),
    }),
  );
} finally {
  rmSync(temporary, { recursive: true, force: true });
}
