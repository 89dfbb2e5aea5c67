/**
 * The paper's protocol (Bjerge et al. 2025, sections 3.3-3.4) on a dataset folder with its species splits:
 * frozen backbone vs episodic fine-tuning of the adapter (alpha chosen on validation species only),
 * K-means and spectral clustering of the held-out test species, CA, NMI, AMI, ARI as mean (SD) over runs,
 * and optionally clustering seeded with n labeled images per test species, scored on the unlabeled rest.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { kmeans, type VectorSet } from '../core/clustering/kmeans';
import { labelSpreading } from '../core/clustering/label-spreading';
import { seededKmeans } from '../core/clustering/seeded-kmeans';
import { spectralClustering } from '../core/clustering/spectral';
import { type ClusteringScores, scoreClustering } from '../core/metrics/clustering-metrics';
import { type AdapterWeights, applyAdapter } from '../core/training/adapter';
import { type LabeledFeatures, type TrainOptions, trainAdapter } from '../core/training/trainer';
import type { Progress } from '../core/util/progress';
import { deriveSeed, seededRandom } from '../core/util/random';
import { embedMissing, embeddingModelId } from './embed-service';
import { importFolder } from './import-service';
import { Project } from './project';

/** Mean (SD) of the four scores over runs. */
export interface ScoreSummary {
  ca: number;
  nmi: number;
  ami: number;
  ari: number;
  ari_sd: number;
  ca_sd: number;
}

/** Everything the benchmark measured; `toJson` gives the issue's JSON shape. */
export interface PaperBenchmarkResult {
  dataset: string;
  model: string;
  species: { train: number; validation: number; test: number };
  images: { train: number; validation: number; test: number };
  runs: number;
  frozen: { kmeans: ScoreSummary; spectral: ScoreSummary };
  episodic: { alpha: number; kmeans: ScoreSummary; spectral: ScoreSummary; validationCa: Record<string, number>; bestEpoch: number };
  seeded: { labeled_per_species: number; method: SeededMethod; ari: number; ari_sd: number; frozen_ari: number } | null;
  train_seconds: number;
  seconds: number;
}

/** Benchmark settings. */
export interface PaperBenchmarkOptions {
  dataset: string;
  splits: string;
  model: string;
  runs?: number;
  labeledPerSpecies?: number;
  /** Alphas tried for Eq. (3); the one with the best validation CA is kept. */
  alphas?: number[];
  seed?: number;
  /** Project folder that caches imports and embeddings between runs. */
  cacheFolder: string;
  training?: TrainOptions;
  onProgress?: (progress: Progress) => void;
  log?: (line: string) => void;
}

/** The split's species names, normalised: `_-_` and `-` become `_`, a CUB-style `NNN.` prefix is dropped. */
export function normaliseSpeciesName(name: string): string {
  return name.replace(/^\d+\./, '').replaceAll('_-_', '_').replaceAll('-', '_');
}

async function readSplit(folder: string, part: 'train' | 'val' | 'test'): Promise<Set<string>> {
  const files = (await fs.readdir(folder)).filter((file) => file.endsWith(`_${part}.json`));
  if (files.length !== 1) throw new Error(`Expected exactly one *_${part}.json in ${folder}, found ${files.length}.`);
  const parsed = JSON.parse(await fs.readFile(path.join(folder, files[0]!), 'utf8')) as { class_names?: string[] };
  if (!Array.isArray(parsed.class_names)) throw new Error(`${files[0]} has no class_names list.`);
  return new Set(parsed.class_names.map(normaliseSpeciesName));
}

function summarise(scores: ClusteringScores[]): ScoreSummary {
  const mean = (key: keyof ClusteringScores) => scores.reduce((sum, score) => sum + score[key], 0) / scores.length;
  const sd = (key: keyof ClusteringScores) => {
    if (scores.length < 2) return 0;
    const average = mean(key);
    return Math.sqrt(scores.reduce((sum, score) => sum + (score[key] - average) ** 2, 0) / (scores.length - 1));
  };
  return { ca: mean('ca'), nmi: mean('nmi'), ami: mean('ami'), ari: mean('ari'), ari_sd: sd('ari'), ca_sd: sd('ca') };
}

async function clusterRuns(vectors: VectorSet, labels: Int32Array, runs: number, seed: number): Promise<{ kmeans: ScoreSummary; spectral: ScoreSummary }> {
  const classes = new Set(labels).size;
  const truth = Array.from(labels);
  const kmeansScores: ClusteringScores[] = [];
  const spectralScores: ClusteringScores[] = [];
  for (let run = 0; run < runs; run++) {
    const runSeed = deriveSeed(seed, run);
    const byKmeans = await kmeans(vectors, { k: classes, seed: runSeed, restarts: 10 });
    kmeansScores.push(scoreClustering(truth, Array.from(byKmeans.labels)));
    const bySpectral = await spectralClustering(vectors, { k: classes, seed: runSeed, neighbors: 10 });
    spectralScores.push(scoreClustering(truth, Array.from(bySpectral.labels)));
  }
  return { kmeans: summarise(kmeansScores), spectral: summarise(spectralScores) };
}

/** How labeled images steer clustering: seeded K-means, or label spreading on the kNN graph. */
export type SeededMethod = 'seeded-kmeans' | 'label-spreading';

async function seededRuns(
  vectors: VectorSet,
  labels: Int32Array,
  perSpecies: number,
  runs: number,
  seed: number,
  method: SeededMethod,
): Promise<{ ari: number; ari_sd: number }> {
  const classes = new Set(labels).size;
  const aris: ClusteringScores[] = [];
  for (let run = 0; run < runs; run++) {
    const random = seededRandom(deriveSeed(seed, 100 + run));
    const seeds = new Int32Array(labels.length).fill(-1);
    for (let species = 0; species < classes; species++) {
      const rows = Array.from(labels.keys()).filter((row) => labels[row] === species);
      for (let pick = 0; pick < perSpecies && rows.length > 0; pick++) {
        const [row] = rows.splice(Math.floor(random() * rows.length), 1);
        seeds[row!] = species;
      }
    }
    const { labels: predicted } =
      method === 'label-spreading'
        ? await labelSpreading(vectors, { seeds })
        : await seededKmeans(vectors, { k: classes, seeds, seed: deriveSeed(seed, run) });
    const unlabeled = Array.from(labels.keys()).filter((row) => seeds[row]! < 0);
    aris.push(scoreClustering(unlabeled.map((row) => labels[row]!), unlabeled.map((row) => predicted[row]!)));
  }
  const summary = summarise(aris);
  return { ari: summary.ari, ari_sd: summary.ari_sd };
}

function average(first: Float32Array, second: Float32Array): Float32Array {
  return first.map((value, index) => (value + second[index]!) / 2);
}

/** Runs the whole protocol. Never looks at test species until the model and alpha are fixed. */
export async function runPaperBenchmark(options: PaperBenchmarkOptions): Promise<PaperBenchmarkResult> {
  const { dataset, splits, model, runs = 5, labeledPerSpecies = 0, alphas = [0, 0.1, 0.3, 0.5], seed = 0, log = () => {} } = options;
  const started = performance.now();
  const report = options.onProgress ?? (() => {});
  const [trainSpecies, validationSpecies, testSpecies] = (await Promise.all((['train', 'val', 'test'] as const).map((part) => readSplit(splits, part)))) as [Set<string>, Set<string>, Set<string>];

  const project = Project.open(options.cacheFolder, model);
  try {
    report({ fraction: 0, message: 'Importing the dataset' });
    await importFolder(project.store, dataset, { labelsFromFolders: true, thumbnailPath: (sha256) => project.thumbnailPath(sha256) });
    const backbone = await project.backbone(model);
    log(`Model ${backbone.id} on ${backbone.runtime}`);
    for (const variant of [undefined, 'flip'] as const) {
      await embedMissing(project.store, backbone, {
        variant,
        onProgress: (progress) => report({ fraction: 0.05 + 0.1 * progress.fraction, message: progress.message }),
      });
    }
    const plain = project.store.embeddingsForImages(embeddingModelId(backbone.id));
    const flipped = project.store.embeddingsForImages(embeddingModelId(backbone.id, 'flip'));
    const flippedRow = new Map(flipped.imageIds.map((id, row) => [id, row]));
    const speciesOf = new Map(
      (project.store.database
        .prepare('SELECT l.image_id AS imageId, s.name AS name FROM labels l JOIN species s ON s.id = l.species_id')
        .all() as { imageId: number; name: string }[]).map((row) => [row.imageId, normaliseSpeciesName(row.name)]),
    );
    const dims = plain.dims;
    const subset = (species: Set<string>): LabeledFeatures & { names: string[] } => {
      const rows = plain.imageIds.flatMap((id, row) => (species.has(speciesOf.get(id) ?? '') && flippedRow.has(id) ? [[row, id] as const] : []));
      const names = [...new Set(rows.map(([, id]) => speciesOf.get(id)!))].sort();
      const data = new Float32Array(rows.length * dims);
      const mirrored = new Float32Array(rows.length * dims);
      rows.forEach(([row, id], index) => {
        data.set(plain.data.subarray(row * dims, (row + 1) * dims), index * dims);
        const other = flippedRow.get(id)!;
        mirrored.set(flipped.data.subarray(other * dims, (other + 1) * dims), index * dims);
      });
      return { data, count: rows.length, dims, labels: Int32Array.from(rows.map(([, id]) => names.indexOf(speciesOf.get(id)!))), views: [mirrored], names };
    };
    const train = subset(trainSpecies);
    const validation = subset(validationSpecies);
    const test = subset(testSpecies);
    log(`Species train/val/test: ${new Set(train.labels).size}/${new Set(validation.labels).size}/${new Set(test.labels).size}; images ${train.count}/${validation.count}/${test.count}`);
    if (new Set(test.labels).size < 2) throw new Error('Fewer than 2 test species of the splits were found in the dataset folder.');
    // Test-time augmentation: each image is the mean of its plain and mirrored features.
    const testInput: VectorSet = { data: average(test.data, test.views![0]!), count: test.count, dims };
    const validationInput: LabeledFeatures = { ...validation, data: average(validation.data, validation.views![0]!), views: [] };

    report({ fraction: 0.15, message: 'Clustering frozen features' });
    const frozen = await clusterRuns(testInput, test.labels, runs, seed);
    log(`Frozen: K-means ARI ${frozen.kmeans.ari.toFixed(3)}, spectral ARI ${frozen.spectral.ari.toFixed(3)}`);

    const trainStarted = performance.now();
    const validationCa: Record<string, number> = {};
    let chosen: { alpha: number; weights: AdapterWeights; ca: number; epoch: number } | null = null;
    for (const [index, alpha] of alphas.entries()) {
      const result = await trainAdapter(train, validationInput, {
        hiddenDims: 0,
        outputDims: 256,
        learningRate: 1e-3,
        ...options.training,
        alpha,
        seed,
        onProgress: (progress) =>
          report({ fraction: 0.2 + 0.6 * ((index + progress.fraction) / alphas.length), message: `alpha ${alpha}: ${progress.message}` }),
      });
      const ca = Math.max(...result.history.map((record) => record.validationCa));
      validationCa[String(alpha)] = ca;
      log(`alpha ${alpha}: best validation CA ${ca.toFixed(4)} at epoch ${result.bestEpoch} (${result.seconds.toFixed(1)} s)`);
      if (!chosen || ca > chosen.ca) chosen = { alpha, weights: result.best, ca, epoch: result.bestEpoch };
    }
    const trainSeconds = (performance.now() - trainStarted) / 1000;

    report({ fraction: 0.85, message: `Clustering test species with alpha ${chosen!.alpha}` });
    const adapted = await applyAdapter(chosen!.weights, testInput);
    const episodic = await clusterRuns(adapted, test.labels, runs, seed);
    log(`Episodic (alpha ${chosen!.alpha}): K-means ARI ${episodic.kmeans.ari.toFixed(3)}, spectral ARI ${episodic.spectral.ari.toFixed(3)}`);

    let seeded: PaperBenchmarkResult['seeded'] = null;
    if (labeledPerSpecies > 0) {
      // The seeded method is chosen on the validation species, with the same number of labels each.
      const adaptedValidation = await applyAdapter(chosen!.weights, validationInput);
      const methods: SeededMethod[] = ['seeded-kmeans', 'label-spreading'];
      const validationAri = new Map<SeededMethod, number>();
      for (const method of methods) {
        validationAri.set(method, (await seededRuns(adaptedValidation, validation.labels, labeledPerSpecies, runs, seed, method)).ari);
      }
      const method = methods.reduce((best, candidate) => (validationAri.get(candidate)! > validationAri.get(best)! ? candidate : best));
      log(`Seeded on validation: ${methods.map((name) => `${name} ARI ${validationAri.get(name)!.toFixed(3)}`).join(', ')}; using ${method}`);
      const withAdapter = await seededRuns(adapted, test.labels, labeledPerSpecies, runs, seed, method);
      const withFrozen = await seededRuns(testInput, test.labels, labeledPerSpecies, runs, seed, method);
      seeded = { labeled_per_species: labeledPerSpecies, method, ari: withAdapter.ari, ari_sd: withAdapter.ari_sd, frozen_ari: withFrozen.ari };
    }
    report({ fraction: 1, message: 'Done' });
    return {
      dataset,
      model: backbone.id,
      species: { train: new Set(train.labels).size, validation: new Set(validation.labels).size, test: new Set(test.labels).size },
      images: { train: train.count, validation: validation.count, test: test.count },
      runs,
      frozen,
      episodic: { alpha: chosen!.alpha, ...episodic, validationCa, bestEpoch: chosen!.epoch },
      seeded,
      train_seconds: trainSeconds,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await project.close();
  }
}

/** The issue's JSON line: frozen, episodic, seeded and train_seconds. */
export function paperBenchmarkJson(result: PaperBenchmarkResult): string {
  const pick = (summary: ScoreSummary) => ({ ca: summary.ca, nmi: summary.nmi, ami: summary.ami, ari: summary.ari, ari_sd: summary.ari_sd });
  return JSON.stringify({
    frozen: { kmeans: pick(result.frozen.kmeans), spectral: pick(result.frozen.spectral) },
    episodic: { alpha: result.episodic.alpha, kmeans: pick(result.episodic.kmeans), spectral: pick(result.episodic.spectral) },
    seeded: result.seeded
      ? { labeled_per_species: result.seeded.labeled_per_species, method: result.seeded.method, ari: result.seeded.ari, ari_sd: result.seeded.ari_sd }
      : null,
    train_seconds: result.train_seconds,
  });
}

/** A table like the paper's Table 1. */
export function paperBenchmarkTable(result: PaperBenchmarkResult): string {
  const cell = (value: number, sd?: number) => (sd === undefined ? value.toFixed(3) : `${value.toFixed(3)} (${sd.toFixed(3)})`);
  const rows = [
    ['frozen', 'K-means', result.frozen.kmeans],
    ['frozen', 'spectral', result.frozen.spectral],
    [`episodic, alpha ${result.episodic.alpha}`, 'K-means', result.episodic.kmeans],
    [`episodic, alpha ${result.episodic.alpha}`, 'spectral', result.episodic.spectral],
  ] as const;
  const lines = [
    `${result.dataset}: ${result.species.test} test species, ${result.images.test} images; model ${result.model}; mean (SD) over ${result.runs} runs`,
    '| features | clustering | CA | NMI | AMI | ARI |',
    '|---|---|---|---|---|---|',
    ...rows.map(([features, method, summary]) => `| ${features} | ${method} | ${cell(summary.ca, summary.ca_sd)} | ${cell(summary.nmi)} | ${cell(summary.ami)} | ${cell(summary.ari, summary.ari_sd)} |`),
  ];
  if (result.seeded) {
    lines.push(
      `| episodic, ${result.seeded.labeled_per_species} labeled per species (ARI on the rest) | ${result.seeded.method} | | | | ${cell(result.seeded.ari, result.seeded.ari_sd)} |`,
      `| frozen, ${result.seeded.labeled_per_species} labeled per species (ARI on the rest) | ${result.seeded.method} | | | | ${cell(result.seeded.frozen_ari)} |`,
    );
  }
  lines.push(`Training (all alphas ${Object.keys(result.episodic.validationCa).join(', ')}): ${result.train_seconds.toFixed(1)} s; validation CA ${JSON.stringify(result.episodic.validationCa)}`);
  return lines.join('\n');
}
