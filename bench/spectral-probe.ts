/**
 * `node scripts/run-ts.mjs bench/spectral-probe.ts [--count 10000] [--dims 1024] [--k 50] [--spread <s>]
 *   [--seed 0] [--repeat 3] [--tolerance <t>] [--sample-rows 200]`:
 * speed and quality of spectral clustering on synthetic Gaussian blobs.
 *
 * Without --spread it runs two data sets: make_blobs-like separated blobs (centres uniform in [-10, 10]^D,
 * unit noise; the kNN graph falls apart into the K blobs) and overlapping blobs (centres N(0, 0.25^2) per
 * dimension, unit noise; one connected graph, slower eigenvectors). Each case runs `repeat` times; the
 * table shows every run (stage times, eigensolver iterations, ARI against the true labels) and the recall
 * of the float32 kNN search against float64 brute force on `sample-rows` sampled rows, the check that the
 * graph is the exact one. The last line is one JSON object. Other processes on the machine change the
 * times a lot (measured up to 1.7x between runs here): compare the minimum, and read the load average.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { nearestNeighbors } from '../src-main/core/clustering/knn-graph';
import { onnxKernel } from '../src-main/core/clustering/matrix-kernel';
import { spectralClustering } from '../src-main/core/clustering/spectral';
import { adjustedRandIndex } from '../src-main/core/metrics/clustering-metrics';
import { seededRandom } from '../src-main/core/util/random';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    dims: { type: 'string', default: '1024' },
    k: { type: 'string', default: '50' },
    spread: { type: 'string' },
    seed: { type: 'string', default: '0' },
    repeat: { type: 'string', default: '3' },
    tolerance: { type: 'string' },
    'sample-rows': { type: 'string', default: '200' },
  },
});
const count = Number(values.count);
const dims = Number(values.dims);
const k = Number(values.k);
const seed = Number(values.seed);
const repeat = Number(values.repeat);
const tolerance = values.tolerance === undefined ? undefined : Number(values.tolerance);
const sampleRows = Number(values['sample-rows']);

/** Blobs with `count` points in `dims` dimensions around k centres; `spread` undefined means make_blobs-like. */
function makeBlobs(spread: number | undefined): { data: Float32Array; truth: Int32Array } {
  const random = seededRandom(seed + 1);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centers = new Float64Array(k * dims);
  for (let index = 0; index < centers.length; index++) centers[index] = spread === undefined ? random() * 20 - 10 : spread * normal();
  const data = new Float32Array(count * dims);
  const truth = new Int32Array(count);
  for (let row = 0; row < count; row++) {
    const label = Math.floor(random() * k);
    truth[row] = label;
    for (let index = 0; index < dims; index++) data[row * dims + index] = centers[label * dims + index]! + normal();
  }
  return { data, truth };
}

/** Fraction of the true (float64 brute force) 9 nearest neighbours that the float32 search found, on sampled rows. */
async function neighbourRecall(data: Float32Array): Promise<number> {
  const lists = await nearestNeighbors({ data, count, dims }, { neighbors: 9, kernel });
  const random = seededRandom(seed + 7);
  let found = 0;
  let total = 0;
  for (let sample = 0; sample < sampleRows; sample++) {
    const row = Math.floor(random() * count);
    const distances: { index: number; distance: number }[] = [];
    for (let other = 0; other < count; other++) {
      if (other === row) continue;
      let sum = 0;
      for (let index = 0; index < dims; index++) sum += (data[row * dims + index]! - data[other * dims + index]!) ** 2;
      distances.push({ index: other, distance: sum });
    }
    distances.sort((a, b) => a.distance - b.distance || a.index - b.index);
    const truth = new Set(distances.slice(0, 9).map((entry) => entry.index));
    for (let slot = 0; slot < 9; slot++) if (truth.has(lists.indices[row * 9 + slot]!)) found++;
    total += 9;
  }
  return found / total;
}

let started = performance.now();
const kernel = await onnxKernel();
const kernelSeconds = (performance.now() - started) / 1000;
const cases =
  values.spread !== undefined
    ? [{ name: `spread ${values.spread}`, spread: Number(values.spread) }]
    : [
        { name: 'separated (make_blobs-like)', spread: undefined },
        { name: 'overlapping (spread 0.25)', spread: 0.25 },
      ];
const report: Record<string, unknown>[] = [];
console.log(
  `Spectral clustering, N = ${count}, D = ${dims}, K = ${k}, kernel ${kernel.name} (created in ${kernelSeconds.toFixed(2)} s), ` +
    `tolerance ${tolerance ?? 'default'}, load average ${os.loadavg()[0]!.toFixed(2)} on ${os.availableParallelism()} cores`,
);
console.log('| data | run | graph s | eigen s | assign s | total s | iterations | converged | ARI |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const { name, spread } of cases) {
  const { data, truth } = makeBlobs(spread);
  const totals: number[] = [];
  let ari = Number.NaN;
  let iterations = 0;
  for (let run = 1; run <= repeat; run++) {
    started = performance.now();
    const result = await spectralClustering({ data, count, dims }, { k, seed, kernel, tolerance });
    const totalSeconds = (performance.now() - started) / 1000;
    totals.push(totalSeconds);
    ari = adjustedRandIndex(truth, result.labels);
    iterations = result.iterations;
    const { graph, eigen, assign } = result.seconds;
    console.log(
      `| ${name} | ${run} | ${graph.toFixed(2)} | ${eigen.toFixed(2)} | ${assign.toFixed(2)} | ${totalSeconds.toFixed(2)} | ${result.iterations} | ${result.converged} | ${ari.toFixed(4)} |`,
    );
  }
  const recall = sampleRows > 0 ? await neighbourRecall(data) : Number.NaN;
  const sorted = [...totals].sort((a, b) => a - b);
  const summary = { name, minSeconds: sorted[0]!, medianSeconds: sorted[Math.floor(sorted.length / 2)]!, iterations, ari, recall };
  console.log(`${name}: best ${summary.minSeconds.toFixed(2)} s, median ${summary.medianSeconds.toFixed(2)} s, kNN recall ${recall.toFixed(4)} on ${sampleRows} rows`);
  report.push(summary);
}
const peakRssMb = process.resourceUsage().maxRSS / 1024;
console.log(`Peak RSS ${peakRssMb.toFixed(0)} MB; load average now ${os.loadavg()[0]!.toFixed(2)}`);
console.log(JSON.stringify({ count, dims, k, kernel: kernel.name, tolerance: tolerance ?? null, kernelSeconds, peakRssMb, cases: report }));
await kernel.dispose();
