/**
 * `npm run bench:scale [-- --images 50000 --k 200 --model <path>]`: a synthetic folder of N small real JPEGs
 * (made here with sharp; 100 "species" of distinct patterns) is imported, embedded and clustered through the
 * app's services as the app runs them: import on the main thread, embedding and clustering in the job worker
 * thread (out/node/job-worker.js, built here when missing). Prints each stage's time and rate, peak RSS of
 * the whole process (sampled every 200 ms), and the main event loop's worst delay while working, which is
 * how long the interface could go without an answer.
 * The last line is one JSON object.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { importFolder } from '../src-main/services/import-service';
import { Project } from '../src-main/services/project';
import { runInWorker } from '../src-main/services/worker-host';

const shared = path.resolve(process.cwd(), '..', 'shared');
const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '50000' },
    k: { type: 'string', default: '200' },
    model: { type: 'string', default: path.join(shared, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.onnx') },
    keep: { type: 'boolean', default: false },
  },
});
const count = Number(values.images);
const k = Number(values.k);
const temporary = mkdtempSync(path.join(os.tmpdir(), 'specimen-bench-scale-'));
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
const rows: [string, string][] = [];
const result: Record<string, number> = { images: count, k };

async function stage<T>(name: string, work: () => Promise<T>, items: number): Promise<T> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const started = performance.now();
  const value = await work();
  const seconds = (performance.now() - started) / 1000;
  delay.disable();
  const worstMs = delay.max / 1e6;
  rows.push([name, `${seconds.toFixed(1)} s, ${(items / seconds).toFixed(0)} images/s, worst event-loop delay ${worstMs.toFixed(0)} ms`]);
  result[`${name}_seconds`] = Number(seconds.toFixed(2));
  result[`${name}_max_event_loop_delay_ms`] = Number(worstMs.toFixed(1));
  return value;
}

try {
  const folder = path.join(temporary, 'photos');
  await stage(
    'generate',
    async () => {
      const species = 100;
      for (let group = 0; group < species; group++) mkdirSync(path.join(folder, `species_${group}`), { recursive: true });
      let next = 0;
      const worker = async () => {
        while (next < count) {
          const index = next++;
          const group = index % species;
          // A coloured pattern per species, with per-image noise, as a 96 x 96 JPEG.
          const size = 96;
          const pixels = Buffer.alloc(size * size * 3);
          for (let pixel = 0; pixel < size * size; pixel++) {
            const x = pixel % size;
            const y = Math.floor(pixel / size);
            // Noise from a hash of (image, pixel), so every image has different bytes and its own embedding.
            const noise = ((Math.imul(index + 1, 2654435761) ^ Math.imul(pixel + 1, 40503)) >>> 0) % 23;
            pixels[pixel * 3] = (group * 37 + x * ((group % 5) + 1) + noise) % 256;
            pixels[pixel * 3 + 1] = (group * 91 + y * ((group % 7) + 1) + noise) % 256;
            pixels[pixel * 3 + 2] = (group * 13 + ((x * y) >> (group % 4)) + noise) % 256;
          }
          await sharp(pixels, { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: 85 }).toFile(path.join(folder, `species_${group}`, `${index}.jpg`));
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
    },
    count,
  );
  const project = Project.open(path.join(temporary, 'project'), values.model);
  const imported = await stage('import', () => importFolder(project.store, folder, { labelsFromFolders: true, thumbnailPath: (sha) => project.thumbnailPath(sha) }), count);
  project.store.setSetting('embedding.tta', 'off');
  const workerScript = path.resolve('out', 'node', 'job-worker.js');
  if (!existsSync(workerScript)) spawnSync(process.execPath, ['scripts/build-node.mjs'], { stdio: 'inherit' });
  const hooks = { signal: new AbortController().signal, report: () => undefined, epoch: () => undefined };
  await stage('embed', () => runInWorker(project, { kind: 'embed' }, hooks, workerScript), count);
  await stage('cluster', () => runInWorker(project, { kind: 'cluster', method: 'kmeans', k, seed: 0, restarts: 1 }, hooks, workerScript), count);
  const latest = project.store.latestRun();
  const clustered = { metrics: latest?.metrics ?? null };
  await project.close();
  clearInterval(sampler);
  rows.push(['imported / failed', `${imported.imported} / ${imported.failed}`]);
  rows.push(['K-means ARI against the 100 generated patterns (k = ' + k + ')', clustered.metrics ? clustered.metrics.ari.toFixed(3) : 'n/a']);
  rows.push(['peak RSS', `${(peakRss / 1024 / 1024).toFixed(0)} MB`]);
  result.peak_rss_mb = Number((peakRss / 1024 / 1024).toFixed(1));
  result.imported = imported.imported;
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, value] of rows) console.log(`| ${label.padEnd(width)} | ${value} |`);
  console.log(JSON.stringify(result));
} finally {
  clearInterval(sampler);
  if (!values.keep) rmSync(temporary, { recursive: true, force: true });
}
