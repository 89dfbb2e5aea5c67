/**
 * `npm run bench:cluster [-- --quick] [-- --large] [-- --skip-sklearn]`: speed, peak memory and quality of
 * our k-means and spectral clustering against scikit-learn on the same data.
 *
 * Cases: seeded Gaussian blobs with D = 1024 (overlapping, so ARI is not trivially 1) at N = 2,000, 10,000
 * and 50,000 with K = 50 and N = 20,000 with K = 160; with --large also N = 200,000, K = 160 (k-means with
 * one restart; takes long and needs several GB of memory, mostly for spectral clustering); and the "real"
 * case: EU Moths (../shared/data/eu_moths, 2,205 photos, species folders as labels) embedded with
 * ../shared/models/tm-mobilenetv2-0.35 through the app's import and embed services, K = 200; with --large also
 * the "moth-like" case: N = 200,000 points of 160 Gaussian species with those features' statistics (D = 1280,
 * mothLikeSpecies), alone with --moth-like. From N = 50,000 the 'knn' method times the approximate
 * 10-nearest-neighbour graph by itself and reports its recall. --quick runs
 * only N = 2,000 and the real case. Each of our runs happens in a fresh child process, so its peak RSS
 * (process.resourceUsage().maxRSS) is its own; the data reaches it as a .npy file, which scikit-learn
 * (Debian's, /usr/bin/python3 bench/cluster-sklearn.py) reads too. scikit-learn runs KMeans(n_init=10) and
 * SpectralClustering(nearest_neighbors, n_neighbors=10, lobpcg, cluster_qr), except where a cost model
 * fitted on this machine predicts over SKLEARN_LIMIT_SECONDS (those rows say so, with null fields); a run
 * past twice that limit is stopped. --skip-sklearn runs none. The default run took 12 minutes here.
 *
 * Prints a table and, as its last line, one JSON object
 * `{"cases": [{"n", "d", "k", "method", "seconds", "peak_rss_mb", "ari", "sklearn_seconds", "sklearn_ari"}]}`.
 * Other processes on the machine change the times a lot: read the load average printed with the table.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { agglomerativeWard } from '../src-main/core/clustering/agglomerative';
import { gaussianMixture } from '../src-main/core/clustering/gmm';
import { kmeans } from '../src-main/core/clustering/kmeans';
import { symmetricEigen } from '../src-main/core/clustering/linear-algebra';
import { partitionedNeighbors } from '../src-main/core/clustering/partitioned-knn';
import { labeledMeans } from '../src-main/core/clustering/seeded-kmeans';
import { fastestKernel } from '../src-main/core/clustering/matrix-kernel';
import { spectralClustering } from '../src-main/core/clustering/spectral';
import { encodeNpy } from '../src-main/core/export/npy';
import { adjustedRandIndex } from '../src-main/core/metrics/clustering-metrics';
import { deriveSeed, seededRandom } from '../src-main/core/util/random';
import { embedMissing } from '../src-main/services/embed-service';
import { importFolder } from '../src-main/services/import-service';
import { Project } from '../src-main/services/project';

const USAGE = `Usage: npm run bench:cluster [-- [--quick] [--large] [--skip-sklearn] [--only-n <N>] [--methods <list>]]
  (default)       blobs N = 2,000 / 10,000 / 50,000 (K = 50) and 20,000 (K = 160), plus EU Moths (K = 200):
                  about 12 minutes here, two thirds of it scikit-learn
  --quick         only blobs N = 2,000 and EU Moths: a fast check, a few minutes
  --large         also blobs N = 200,000, K = 160 (k-means with 1 restart, against KMeans(n_init=1), about 80 s
                  here; scikit-learn's spectral skipped; ours on an approximate kNN graph, as at 50,000,
                  the detail column giving its sampled recall): takes minutes and needs several GB of
                  memory (0.8 GB of data twice, the eigensolver's blocks of 200,000 x 528)
  --moth-like     only the moth-like case: 200,000 points of 160 Gaussian species with the means and pooled
                  within-species covariance of the EU Moths features (1280-d), where the blobs' noise is isotropic
  --skip-sklearn  do not run scikit-learn (its columns are null)
  --only-n <N>    only the blobs case with N points (e.g. --only-n 10000 --methods gmm,agglomerative)
  --methods <l>   only these methods (comma list of kmeans, spectral, gmm, agglomerative, knn (from 50,000
                  points: the approximate 10-NN graph alone, asked for recall 0.95), and spectral-exact:
                  spectral on the exact kNN graph at any N, the reference for the approximate graph; at
                  --only-n 200000 about 8 minutes)
  At N = 10,000 also gmm (GaussianMixture diag, K-means start) and agglomerative (Ward on a 10-neighbour
  connectivity graph), against scikit-learn's GaussianMixture(covariance_type='diag') and
  AgglomerativeClustering(linkage='ward', connectivity=kneighbors_graph(X, 10)).`;

// npm runs scripts in the repository root; the shared data sits beside it.
const shared = path.resolve(process.cwd(), '..', 'shared');
const DIMS = 1024;
/**
 * Centres are N(0, CENTER_SPREAD^2) per dimension and points add N(0, 1) noise (bench/spectral-probe.ts's
 * "overlapping" blobs): two centres lie about 0.25 x sqrt(2 x 1024) = 11 apart while two points of one blob
 * lie about sqrt(2 x 1024) = 45 apart, so nearest neighbours mix blobs and k-means finds poor local optima
 * (ARI well below 1 at 40 points per blob), yet the blobs stay separable by direction.
 */
const CENTER_SPREAD = 0.25;
const DATA_SEED = 20_261_122;
/** scikit-learn cases predicted to take longer than this (seconds) are skipped. */
const SKLEARN_LIMIT_SECONDS = 300;
/** Python with Debian's scikit-learn 1.2.1 (the `python3` on PATH may lack it). */
const PYTHON = '/usr/bin/python3';

/** 'spectral-exact' (only with --methods): spectral clustering on the exact graph at any N, the reference for the approximate one. */
type Method = 'kmeans' | 'spectral' | 'spectral-exact' | 'gmm' | 'agglomerative' | 'knn';
/** Methods run on every case; the others only at N = EXTRA_METHODS_COUNT. */
const EVERY_CASE_METHODS: Method[] = ['kmeans', 'spectral'];
const EXTRA_METHODS: Method[] = ['gmm', 'agglomerative'];
const EXTRA_METHODS_COUNT = 10_000;
/**
 * 'knn': the approximate 10-nearest-neighbour graph alone (partitioned-knn.ts, 8-bit products, asked for
 * recall 0.95 of the exact float32 neighbours on 256 sampled queries), on the cases of at least this many points.
 */
const KNN_METHOD_FROM = 50_000;
/** Neighbours per point (the point itself not counted) of the 'knn' case. */
const KNN_NEIGHBORS = 10;
/** Species of the moth-like case (the first of the 200 EU Moths species, in folder order). */
const MOTH_LIKE_SPECIES = 160;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    large: { type: 'boolean', default: false },
    'skip-sklearn': { type: 'boolean', default: false },
    'only-n': { type: 'string' },
    methods: { type: 'string' },
    help: { type: 'boolean', default: false },
    // Internal: run one case in this (child) process.
    child: { type: 'boolean', default: false },
    data: { type: 'string' },
    labels: { type: 'string' },
    k: { type: 'string' },
    method: { type: 'string' },
    restarts: { type: 'string' },
    'moth-like': { type: 'boolean', default: false },
  },
});

/** Our result for one case, as the child process prints it. */
interface ChildResult {
  seconds: number;
  peakRssMb: number;
  /** Null for the 'knn' method, which does not cluster. */
  ari: number | null;
  /** Sampled recall@10 of the 'knn' method; null for the others. */
  recall: number | null;
  kernel: string;
  detail: string;
}

/** scikit-learn's result for one case, or why there is none. */
interface SklearnResult {
  seconds: number | null;
  ari: number | null;
  peakRssMb: number | null;
  note: string;
}

/**
 * Reads a 2-D little-endian float32 .npy (as encodeNpy writes it) straight into a Float32Array: unlike
 * decodeNpy on a whole-file buffer, it never holds the data twice, so peak RSS shows the algorithm's memory.
 */
function readNpyMatrixSync(file: string): { data: Float32Array; rows: number; columns: number } {
  if (os.endianness() !== 'LE') throw new Error('This benchmark reads .npy data in place and needs a little-endian machine.');
  const descriptor = openSync(file, 'r');
  try {
    const prefix = Buffer.alloc(10);
    readSync(descriptor, prefix, 0, 10, 0);
    const headerLength = prefix.readUInt16LE(8);
    const header = Buffer.alloc(headerLength);
    readSync(descriptor, header, 0, headerLength, 10);
    const text = header.toString('latin1');
    const shape = /'shape': \((\d+), (\d+)\)/.exec(text);
    if (!text.includes("'descr': '<f4'") || !text.includes("'fortran_order': False") || !shape) {
      throw new Error(`${file}: expected a 2-D C-order float32 .npy, got header ${text.trim()}`);
    }
    const rows = Number(shape[1]);
    const columns = Number(shape[2]);
    const data = new Float32Array(rows * columns);
    const bytes = new Uint8Array(data.buffer);
    const dataOffset = 10 + headerLength;
    for (let done = 0; done < bytes.length; ) {
      const read = readSync(descriptor, bytes, done, Math.min(1 << 30, bytes.length - done), dataOffset + done);
      if (read === 0) throw new Error(`${file} is shorter than its header says`);
      done += read;
    }
    return { data, rows, columns };
  } finally {
    closeSync(descriptor);
  }
}

/** Child mode: one clustering of one .npy file, timed without loading and kernel start-up; prints one JSON line. */
async function runChild(): Promise<void> {
  const { data, rows: count, columns: dims } = readNpyMatrixSync(values.data!);
  const truth = Int32Array.from(readNpyMatrixSync(values.labels!).data);
  const k = Number(values.k);
  const restarts = Number(values.restarts ?? '10');
  const kernel = await fastestKernel();
  // The first product pays onnxruntime's session warm-up; keep it out of the timing.
  await kernel.multiplyTransposed(data.subarray(0, 2 * dims), 2, data.subarray(0, 2 * dims), 2, dims);
  const started = performance.now();
  let labels: Int32Array | null = null;
  let recall: number | null = null;
  let detail: string;
  if (values.method === 'kmeans') {
    const result = await kmeans({ data, count, dims }, { k, restarts, seed: 0, kernel });
    labels = result.labels;
    detail = `${restarts} restart${restarts === 1 ? '' : 's'}, best ${result.iterations} iterations`;
  } else if (values.method === 'gmm') {
    const result = await gaussianMixture({ data, count, dims }, { k, seed: 0, kernel });
    labels = result.labels;
    detail = `diag, ${result.iterations} EM iterations${result.converged ? '' : ' (not converged)'}`;
  } else if (values.method === 'knn') {
    const result = await partitionedNeighbors({ data, count, dims }, { neighbors: KNN_NEIGHBORS, seed: 0, kernel, targetRecall: 0.95, quantize: true });
    recall = result.recall;
    detail =
      `${KNN_NEIGHBORS} neighbours, recall ${result.recall.toFixed(3)} on ${result.sampledQueries} queries, ${result.lists} lists x ${result.probes} probes, ` +
      `${(100 * result.workFraction).toFixed(1)}% of the exact search's distances`;
  } else if (values.method === 'agglomerative') {
    const result = await agglomerativeWard({ data, count, dims }, { k, connectivityNeighbors: 10, kernel });
    labels = result.labels;
    detail = `ward, 10-NN graph ${result.seconds.graph.toFixed(1)} + merges ${result.seconds.merge.toFixed(1)} s, ${result.graphComponents} piece(s)`;
  } else {
    const approximateAbove = values.method === 'spectral-exact' ? Infinity : undefined;
    const result = await spectralClustering({ data, count, dims }, { k, seed: 0, kernel, approximateAbove });
    labels = result.labels;
    const { graph, eigen, assign } = result.seconds;
    // Above knn-graph.ts' APPROXIMATE_ABOVE (the 50,000 and 200,000 cases) the graph is partitioned: its recall@k
    // is measured on sampled queries against the exact neighbours.
    const search = result.neighborSearch;
    const graphKind = search.method === 'exact' ? 'exact graph' : `approximate graph, recall ${search.recall.toFixed(3)} on ${search.sampledQueries} queries`;
    detail = `${graphKind}; graph ${graph.toFixed(1)} + eigen ${eigen.toFixed(1)} + assign ${assign.toFixed(1)} s, ${result.iterations} it${result.converged ? '' : ' (not converged)'}`;
  }
  const seconds = (performance.now() - started) / 1000;
  const output: ChildResult = {
    seconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    ari: labels && adjustedRandIndex(truth, labels),
    recall,
    kernel: kernel.name,
    detail,
  };
  console.log(JSON.stringify(output));
  await kernel.dispose();
}

/**
 * The command runs under `sh`, which forks it rather than replacing itself: a process started straight from
 * this one counts this one's resident memory at that moment in its own maxRSS (Linux carries the forked
 * address space's high-water mark across exec; measured: a child of a process holding 1 GB reported 958 MB
 * instead of 39 MB), while the grandchild starts from sh's few megabytes. TERM to sh kills the command.
 */
const FRESH_PROCESS_SCRIPT = '"$@" & command=$!; trap \'kill -9 $command\' TERM; wait $command; exit $?';

/** Runs a command in a fresh process; resolves with its stdout and exit code, killing it after `timeoutMs` (0: never). */
function runProcess(command: string, args: string[], timeoutMs = 0): Promise<{ code: number | null; stdout: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', FRESH_PROCESS_SCRIPT, 'sh', command, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const timer = timeoutMs > 0 ? setTimeout(() => ((timedOut = true), child.kill('SIGTERM')), timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, timedOut });
    });
  });
}

/** Parses the last line of a child's output, where it prints its JSON result. */
function lastJsonLine<T>(stdout: string): T {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as T;
}

/** Seeded Gaussian blobs: `k` centres N(0, CENTER_SPREAD^2 I), points centre + N(0, I), labels uniform at random. */
function syntheticBlobs(count: number, dims: number, k: number, seed: number): { data: Float32Array; truth: Int32Array } {
  const random = seededRandom(seed);
  const normal = normalSampler(random);
  const centers = new Float32Array(k * dims);
  for (let index = 0; index < centers.length; index++) centers[index] = CENTER_SPREAD * normal();
  const data = new Float32Array(count * dims);
  const truth = new Int32Array(count);
  for (let row = 0; row < count; row++) {
    const label = Math.floor(random() * k);
    truth[row] = label;
    const offset = row * dims;
    const centerOffset = label * dims;
    for (let index = 0; index < dims; index++) data[offset + index] = centers[centerOffset + index]! + normal();
  }
  return { data, truth };
}

/** EU Moths embedded the way the app does it: import with folder labels, embed with the project's backbone. */
async function embedEuMoths(folder: string): Promise<{ data: Float32Array; truth: Int32Array; dims: number; species: number; seconds: number }> {
  const started = performance.now();
  const project = Project.open(path.join(folder, 'project'), path.join(shared, 'models', 'tm-mobilenetv2-0.35'));
  try {
    await importFolder(project.store, path.join(shared, 'data', 'eu_moths'), {
      labelsFromFolders: true,
      thumbnailPath: (sha256) => project.thumbnailPath(sha256),
    });
    const backbone = await project.backbone();
    const summary = await embedMissing(project.store, backbone, { batchSize: 32 });
    const { imageIds, dims, data } = project.store.embeddingsForImages(summary.modelId);
    const speciesOf = new Map(project.store.labeledImages().map((image) => [image.imageId, image.species]));
    const speciesIds = new Map<string, number>();
    const truth = Int32Array.from(imageIds, (imageId) => {
      const species = speciesOf.get(imageId);
      if (species === undefined) throw new Error(`Image ${imageId} has no folder label`);
      if (!speciesIds.has(species)) speciesIds.set(species, speciesIds.size);
      return speciesIds.get(species)!;
    });
    return { data, truth, dims, species: speciesIds.size, seconds: (performance.now() - started) / 1000 };
  } finally {
    await project.close();
  }
}

/**
 * "Moth-like" species: Gaussian clusters with the statistics of real photo features instead of isotropic
 * noise. The centres are the mean MobileNetV2 features of the first `k` EU Moths species, the spread within a
 * species is drawn from the covariance of every photo around its species' mean, pooled over all 200 species
 * (1280-d; its eigenvalues' participation ratio is about 67: real features vary along few directions, where
 * the blobs above vary along all 1024). Points are centre + L z with z ~ N(0, I) and L L^T that covariance
 * (its eigenvectors scaled by the square roots of its eigenvalues), species drawn uniformly at random.
 */
async function mothLikeSpecies(real: { data: Float32Array; truth: Int32Array; dims: number; species: number }, count: number, k: number, seed: number): Promise<{ data: Float32Array; truth: Int32Array }> {
  const { data: features, truth: realTruth, dims, species } = real;
  if (k > species) throw new Error(`Only ${species} EU Moths species for ${k} moth-like ones.`);
  const rows = realTruth.length;
  const { centers: means } = labeledMeans({ data: features, count: rows, dims }, realTruth, species, species);
  const kernel = await fastestKernel();
  try {
    // Pooled within-species covariance: one product of the centred features, transposed, with themselves.
    const centredTransposed = new Float32Array(dims * rows);
    for (let row = 0; row < rows; row++) {
      for (let index = 0; index < dims; index++) centredTransposed[index * rows + row] = features[row * dims + index]! - means[realTruth[row]! * dims + index]!;
    }
    const product = await kernel.multiplyTransposed(centredTransposed, dims, centredTransposed, dims, rows);
    const covariance = Float64Array.from(product, (value) => value / (rows - species));
    const { values: eigenvalues, vectors } = symmetricEigen(covariance, dims);
    // factor[d][j] = v_j[d] sqrt(lambda_j), so a row of z times factor^T is a draw from the covariance.
    const factor = new Float32Array(dims * dims);
    for (let d = 0; d < dims; d++) for (let j = 0; j < dims; j++) factor[d * dims + j] = vectors[d * dims + j]! * Math.sqrt(Math.max(0, eigenvalues[j]!));
    const random = seededRandom(seed);
    const normal = normalSampler(random);
    const data = new Float32Array(count * dims);
    const truth = new Int32Array(count);
    const chunk = 8192;
    for (let start = 0; start < count; start += chunk) {
      const chunkRows = Math.min(chunk, count - start);
      const z = new Float32Array(chunkRows * dims);
      for (let index = 0; index < z.length; index++) z[index] = normal();
      const spread = await kernel.multiplyTransposed(z, chunkRows, factor, dims, dims);
      for (let row = 0; row < chunkRows; row++) {
        const label = Math.floor(random() * k);
        truth[start + row] = label;
        for (let index = 0; index < dims; index++) data[(start + row) * dims + index] = means[label * dims + index]! + spread[row * dims + index]!;
      }
    }
    return { data, truth };
  } finally {
    await kernel.dispose();
  }
}

/** Standard normal draws from a uniform source (Box-Muller, using both values of each pair). */
function normalSampler(random: () => number): () => number {
  let spare = Number.NaN;
  return () => {
    if (!Number.isNaN(spare)) {
      const value = spare;
      spare = Number.NaN;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}

/**
 * Predicted seconds of a scikit-learn fit on this machine (2 cores, OpenBLAS), only to decide what to skip.
 * Fitted to its runs on these blobs at load average 2-3: KMeans(n_init=10) 23 s at N = 10,000 / K = 50,
 * 121 s at 20,000 / 160, 54 s at 50,000 / 50; SpectralClustering 8.8 s, 49 s and 71 s (the N^2 term is
 * the brute-force kNN graph, the N K term the eigensolver). K-means time scales with n_init (`restarts`):
 * N = 200,000 / K = 160 with one restart predicts 160 s (it runs); spectral there predicts 1,000 s: skipped.
 */
function predictSklearnSeconds(method: Method, count: number, k: number, dims: number, restarts = 10): number {
  const width = dims / DIMS;
  // KMeans(n_init=1) at 200,000 / 160 took 76 s: half a restart's time is its k-means++ seeding.
  if (method === 'kmeans') return 5e-6 * count * k * width * restarts;
  // Not fitted: rough guesses from single runs, only to skip hopeless sizes.
  if (method === 'gmm') return 1e-4 * count * k * width;
  if (method === 'agglomerative') return 1.5e-8 * count * count * width + 1e-4 * count;
  return 1.35e-8 * count * count * width + 1.5e-5 * count * k;
}

/** Times scikit-learn on one case in /usr/bin/python3, unless skipped or predicted too slow. */
async function runSklearn(method: Method, count: number, k: number, dims: number, dataFile: string, labelsFile: string, restarts = 10): Promise<SklearnResult> {
  if (values['skip-sklearn']) return { seconds: null, ari: null, peakRssMb: null, note: 'skipped (--skip-sklearn)' };
  if (method === 'spectral-exact') return { seconds: null, ari: null, peakRssMb: null, note: 'reference for the approximate graph (scikit-learn runs as spectral)' };
  if (method === 'knn') return { seconds: null, ari: null, peakRssMb: null, note: 'no scikit-learn counterpart (its NearestNeighbors is exact)' };
  const predicted = predictSklearnSeconds(method, count, k, dims, restarts);
  if (predicted > SKLEARN_LIMIT_SECONDS) {
    return { seconds: null, ari: null, peakRssMb: null, note: `skipped: predicted ${Math.round(predicted)} s > ${SKLEARN_LIMIT_SECONDS} s` };
  }
  const script = path.resolve(process.cwd(), 'bench', 'cluster-sklearn.py');
  const args = [script, '--data', dataFile, '--labels', labelsFile, '--k', String(k), '--method', method, '--n-init', String(restarts)];
  const { code, stdout, timedOut } = await runProcess(PYTHON, args, 2 * SKLEARN_LIMIT_SECONDS * 1000);
  if (timedOut) return { seconds: null, ari: null, peakRssMb: null, note: `stopped after ${2 * SKLEARN_LIMIT_SECONDS} s` };
  if (code !== 0) return { seconds: null, ari: null, peakRssMb: null, note: `failed (exit ${code})` };
  const result = lastJsonLine<{ seconds: number; ari: number; peak_rss_mb: number }>(stdout);
  return { seconds: result.seconds, ari: result.ari, peakRssMb: result.peak_rss_mb, note: '' };
}

/** Times our method on one case in a fresh Node process. */
async function runOurs(method: Method, k: number, restarts: number, dataFile: string, labelsFile: string): Promise<ChildResult> {
  const self = fileURLToPath(import.meta.url);
  const args = [self, '--child', '--data', dataFile, '--labels', labelsFile, '--k', String(k), '--method', method, '--restarts', String(restarts)];
  const { code, stdout } = await runProcess(process.execPath, args);
  if (code !== 0) throw new Error(`The ${method} child process failed (exit ${code})`);
  return lastJsonLine<ChildResult>(stdout);
}

/** One data set to cluster. */
interface CaseSpec {
  name: string;
  count: number;
  k: number;
  /** k-means restarts. */
  restarts: number;
  real: boolean;
}

/** A finished row of the report. */
interface Row {
  spec: CaseSpec;
  dims: number;
  method: Method;
  ours: ChildResult;
  sklearn: SklearnResult;
  /** One-minute load average when the row finished. */
  load: number;
}

/** A table cell: the number, or '-' where there is none. */
function format(value: number | null, digits: number): string {
  return value === null ? '-' : value.toFixed(digits);
}

/** Prepares every case's data, runs ours and scikit-learn on each, prints the table and the JSON line. */
async function runParent(): Promise<void> {
  const benchStarted = performance.now();
  const loadBefore = os.loadavg();
  const specs: CaseSpec[] = [{ name: 'blobs', count: 2_000, k: 50, restarts: 10, real: false }];
  if (!values.quick) {
    specs.push(
      { name: 'blobs', count: 10_000, k: 50, restarts: 10, real: false },
      { name: 'blobs', count: 20_000, k: 160, restarts: 10, real: false },
      { name: 'blobs', count: 50_000, k: 50, restarts: 10, real: false },
    );
  }
  const mothLike: CaseSpec = { name: 'moth-like', count: 200_000, k: MOTH_LIKE_SPECIES, restarts: 1, real: false };
  if (values.large) specs.push({ name: 'blobs', count: 200_000, k: 160, restarts: 1, real: false }, mothLike);
  specs.push({ name: 'eu_moths', count: 2_205, k: 200, restarts: 10, real: true });
  if (values['moth-like']) specs.splice(0, specs.length, mothLike);
  if (values['only-n'] !== undefined) {
    const onlyCount = Number(values['only-n']);
    const only = [{ name: 'blobs', count: onlyCount, k: onlyCount === 20_000 || onlyCount === 200_000 ? 160 : 50, restarts: onlyCount === 200_000 ? 1 : 10, real: false }];
    specs.splice(0, specs.length, ...only);
  }

  const temporary = mkdtempSync(path.join(os.tmpdir(), 'specimen-bench-cluster-'));
  const rows: Row[] = [];
  let embedNote = '';
  let euMoths: Awaited<ReturnType<typeof embedEuMoths>> | null = null;
  const euMothsFeatures = async () => {
    if (!euMoths) {
      console.error(`[bench:cluster] importing and embedding ${path.join(shared, 'data', 'eu_moths')} ...`);
      euMoths = await embedEuMoths(temporary);
      embedNote = `EU Moths: ${euMoths.truth.length} images, ${euMoths.species} species, ${euMoths.dims}-d tm-mobilenetv2-0.35 features (import + embed ${euMoths.seconds.toFixed(0)} s).`;
    }
    return euMoths;
  };
  try {
    for (const spec of specs) {
      const dataFile = path.join(temporary, `${spec.name}-${spec.count}.npy`);
      const labelsFile = path.join(temporary, `${spec.name}-${spec.count}-labels.npy`);
      let dims = DIMS;
      {
        // A block, so the data can be collected before the child processes run.
        let data: Float32Array;
        let truth: Int32Array;
        if (spec.real) {
          ({ data, truth, dims } = await euMothsFeatures());
          spec.count = truth.length;
        } else if (spec.name === 'moth-like') {
          const real = await euMothsFeatures();
          console.error(`[bench:cluster] drawing ${spec.count} moth-like points ...`);
          ({ data, truth } = await mothLikeSpecies(real, spec.count, spec.k, deriveSeed(DATA_SEED, spec.count + 1)));
          dims = real.dims;
        } else {
          ({ data, truth } = syntheticBlobs(spec.count, DIMS, spec.k, deriveSeed(DATA_SEED, spec.count)));
        }
        writeFileSync(dataFile, encodeNpy(data, [spec.count, dims]));
        writeFileSync(labelsFile, encodeNpy(Float32Array.from(truth), [spec.count, 1]));
      }
      const chosen = values.methods?.split(',');
      const methods = [
        ...EVERY_CASE_METHODS,
        ...(spec.count === EXTRA_METHODS_COUNT && !spec.real ? EXTRA_METHODS : []),
        ...(spec.count >= KNN_METHOD_FROM ? (['knn'] as const) : []),
      ].filter(
        (method) => !chosen || chosen.includes(method),
      );
      // The exact-graph reference runs only when asked for: at 200,000 points it takes minutes.
      if (chosen?.includes('spectral-exact')) methods.push('spectral-exact');
      for (const method of methods) {
        console.error(`[bench:cluster] ${spec.name} N=${spec.count} K=${spec.k} ${method}: ours ...`);
        const ours = await runOurs(method, spec.k, spec.restarts, dataFile, labelsFile);
        console.error(`[bench:cluster]   ${ours.seconds.toFixed(2)} s, ${ours.ari === null ? `recall ${ours.recall!.toFixed(3)}` : `ARI ${ours.ari.toFixed(4)}`}; scikit-learn ...`);
        const sklearn = await runSklearn(method, spec.count, spec.k, dims, dataFile, labelsFile, spec.restarts);
        console.error(`[bench:cluster]   scikit-learn ${sklearn.seconds === null ? sklearn.note : `${sklearn.seconds.toFixed(2)} s, ARI ${sklearn.ari!.toFixed(4)}`}`);
        rows.push({ spec, dims, method, ours, sklearn, load: os.loadavg()[0]! });
      }
      rmSync(dataFile, { force: true });
      rmSync(labelsFile, { force: true });
    }
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }

  const loadAfter = os.loadavg();
  const totalMinutes = (performance.now() - benchStarted) / 60_000;
  console.log(
    `Clustering benchmark: kernel ${rows[0]?.ours.kernel ?? '?'}, ${os.availableParallelism()} cores, ` +
      `load average ${loadBefore.map((value) => value.toFixed(2)).join(' ')} at start, ${loadAfter.map((value) => value.toFixed(2)).join(' ')} at end; ` +
      `${totalMinutes.toFixed(1)} min in all.`,
  );
  console.log(
    `Blobs: D = ${DIMS}, centre spread ${CENTER_SPREAD}, unit noise, seed ${DATA_SEED}. Moth-like: ${MOTH_LIKE_SPECIES} Gaussian species with the EU Moths ` +
      `features' species means and pooled within-species covariance. ${embedNote} knn: the approximate ${KNN_NEIGHBORS}-NN graph alone, asked for recall 0.95 (ARI column: its recall).`,
  );
  console.log(
    'Ratio = scikit-learn seconds / our seconds (above 1: we are faster). Seconds exclude loading the data. ' +
      'Load = 1-minute load average when the row finished.',
  );
  console.log('');
  console.log('| data | N | D | K | method | our s | detail | peak RSS MB | ARI | sklearn s | sklearn ARI | sklearn MB | ratio | load | note |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const { spec, dims, method, ours, sklearn, load } of rows) {
    const ratio = sklearn.seconds === null ? '-' : `${(sklearn.seconds / ours.seconds).toFixed(1)}x`;
    console.log(
      `| ${spec.name} | ${spec.count} | ${dims} | ${spec.k} | ${method} | ${ours.seconds.toFixed(2)} | ${ours.detail} | ${ours.peakRssMb.toFixed(0)} | ` +
        `${ours.ari === null ? `recall ${ours.recall!.toFixed(3)}` : ours.ari.toFixed(4)} | ${format(sklearn.seconds, 2)} | ${format(sklearn.ari, 4)} | ${format(sklearn.peakRssMb, 0)} | ${ratio} | ${load.toFixed(1)} | ${sklearn.note} |`,
    );
  }
  const round = (value: number | null, digits: number) => (value === null ? null : Number(value.toFixed(digits)));
  console.log(
    JSON.stringify({
      cases: rows.map(({ spec, dims, method, ours, sklearn }) => ({
        n: spec.count,
        d: dims,
        k: spec.k,
        method,
        seconds: round(ours.seconds, 3),
        peak_rss_mb: round(ours.peakRssMb, 1),
        ari: round(ours.ari, 4),
        recall: round(ours.recall, 4),
        sklearn_seconds: round(sklearn.seconds, 3),
        sklearn_ari: round(sklearn.ari, 4),
      })),
    }),
  );
}

if (values.help) console.log(USAGE);
else if (values.child) await runChild();
else await runParent();
