/**
 * The paper's protocol (Bjerge et al. 2025, sections 3.3-3.4) on a dataset folder with its species splits:
 * frozen backbone features (averaged over input sizes and with the mirror image) vs within-class whitening
 * fitted on the training species vs episodic fine-tuning of an adapter over the whitened features (alpha,
 * epoch and whitening-or-adapter chosen on validation species only), K-means and spectral clustering of the held-out test species, CA, NMI, AMI, ARI as mean (SD) over runs,
 * and optionally clustering seeded with n labeled images per test species, scored on the unlabeled rest (method,
 * temperature and features, among SEEDED_CANDIDATES, chosen by validation ARI with as many labels per species).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { kmeans, type VectorSet } from '../core/clustering/kmeans';
import { labelSpreading } from '../core/clustering/label-spreading';
import { seededKmeans } from '../core/clustering/seeded-kmeans';
import { softSeededKmeans } from '../core/clustering/soft-seeded-kmeans';
import { spectralClustering } from '../core/clustering/spectral';
import { scanImageFolder } from '../core/images/scan';
import { type ClusteringScores, scoreClustering } from '../core/metrics/clustering-metrics';
import { type AdapterWeights, applyAdapter } from '../core/training/adapter';
import { findLastBlock } from '../core/backbones/tfjs-to-onnx';
import { readTfjsArtifacts } from '../core/backbones/tfjs-artifacts';
import { resolveModelPath } from '../core/backbones/load-backbone';
import { labeledBlockFeatures, lastBlockFeatures, trainLastBlock } from '../core/training/last-block';
import { type LabeledFeatures, meanValidationCa, type TrainOptions, trainAdapter } from '../core/training/trainer';
import { fitWithinClassWhitening, mapLabeledFeatures, WHITENING_POWER, withLabeledSpecies } from '../core/training/whitening';
import type { Progress } from '../core/util/progress';
import { deriveSeed, seededRandom } from '../core/util/random';
import { blockInputsFor, embedScales, multiScaleId, scaleAveragedViews, scaleBackbones } from './embedding-space';
import { importFolder } from './import-service';
import { Project } from './project';
import { gatherRows } from '../core/util/rows';

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
  /** Input sizes in pixels whose mirror-averaged features were averaged; `features` names them. */
  scales: number[];
  /** Embedding model id of the averaged features, e.g. `tm-mobilenetv2-0.35-0f20878d253f@224+288+320`. */
  features: string;
  species: { train: number; validation: number; test: number };
  images: { train: number; validation: number; test: number };
  runs: number;
  frozen: { kmeans: ScoreSummary; spectral: ScoreSummary };
  /** Frozen features through within-class whitening fitted on the training species. */
  whitened: { kmeans: ScoreSummary; spectral: ScoreSummary };
  /** The whitening's input power (AdapterWeights.inputPower), chosen by mean validation K-means CA of the whitening alone. */
  power: { chosen: number; validationCa: Record<string, number> };
  /** Which features the validation species preferred (mean K-means CA); seeded clustering uses them. */
  final: { features: FinalFeatures; validationCa: Record<FinalFeatures, number> };
  episodic: { alpha: number; kmeans: ScoreSummary; spectral: ScoreSummary; validationCa: Record<string, number>; bestEpoch: number };
  /** Which fine-tuning the validation species chose (best final validation CA). `episodic` is always the head's; `seeded` chooses its features among both by validation ARI. */
  trainable: BenchmarkTrainable;
  /** Null unless 'last-blocks' was among the trainables. */
  last_blocks: LastBlockSummary | null;
  seeded: SeededSummary | null;
  train_seconds: number;
  /** Time to embed what the cache lacked, plain and mirrored views, at every input size (0 when all cached). */
  embed_seconds: number;
  seconds: number;
}

/** The two fitted feature maps: within-class whitening alone, or whitening then the episodic adapter. */
export type FinalFeatures = 'whitening' | 'episodic';

/** What the benchmark can fine-tune (see `PaperBenchmarkOptions.trainables`). */
export type BenchmarkTrainable = 'head' | 'last-blocks';

/** Last-block fine-tuning and the whitening and adapter fitted over its features. */
export interface LastBlockSummary {
  /** Validation K-means CA of the block's features through the head's whitening: pretrained, then the best epoch's. */
  block_validation_ca: { pretrained: number; trained: number };
  block_epoch: number;
  tasks_per_epoch: number;
  /** Embedding the block inputs (what the cache lacked) and training the block. */
  embed_seconds: number;
  train_seconds: number;
  /** Whitening then the adapter (at the head's alpha) over the fine-tuned block's features, on the test species. */
  kmeans: ScoreSummary;
  spectral: ScoreSummary;
  /** Mean validation K-means CA of whitening alone and with the adapter over the block's features. */
  validationCa: Record<FinalFeatures, number>;
  /** The head's best of the same measure, which the block's must beat to be chosen. */
  head_validation_ca: number;
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
  /** Input powers tried before the whitening (1: none); validation chooses. Default [1, WHITENING_POWER]. */
  powers?: number[];
  seed?: number;
  /**
   * Square input sizes in pixels; the features are the plain and the mirrored photo's features each averaged
   * over the sizes. Default 224, 288, 320: chosen on the EU Moths validation species (README).
   */
  scales?: number[];
  /** Project folder that caches imports and embeddings between runs. */
  cacheFolder: string;
  training?: TrainOptions;
  /**
   * What is fine-tuned; validation species choose among them. 'head': the adapter over frozen features;
   * 'last-blocks': also the backbone's last block (last-block.ts), trained first at the head's alpha. Default ['head'].
   */
  trainables?: BenchmarkTrainable[];
  /** Tasks per epoch of last-block training (each costs about 30 times an adapter task). Default 100. */
  lastBlockTasks?: number;
  onProgress?: (progress: Progress) => void;
  log?: (line: string) => void;
}

/** The default input sizes, chosen on validation species (README, "The paper's protocol"). */
export const PAPER_BENCHMARK_SCALES: readonly number[] = [224, 288, 320];

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

/**
 * How labeled images steer clustering: seeded K-means, label spreading on the kNN graph, soft seeded K-means
 * (soft-seeded-kmeans.ts), or soft seeded K-means asking every species for the same share of the unlabeled
 * images (an assumption that holds in this benchmark's splits, not in a light trap; reported apart).
 */
export type SeededMethod = 'seeded-kmeans' | 'label-spreading' | 'soft-seeded-kmeans' | 'balanced-soft-seeded-kmeans';

/**
 * Features seeded clustering runs on: the ones chosen on validation, or 'whitening-refit', the within-class
 * whitening refitted on the training species plus the labeled images of the species being clustered.
 */
export type SeededFeatures = FinalFeatures | 'whitening-refit';

/** One seeded setting tried on the validation species. */
export interface SeededCandidate {
  method: SeededMethod;
  /** Soft seeded K-means' temperature (fraction of total variance); null for the others. */
  temperature: number | null;
  /** How many times each labeled image counts in the refitted whitening (withLabeledSpecies), or null: the chosen features as they are. */
  refit: number | null;
}

/** The seeded setting validation chose, its test ARI, and every candidate's validation ARI. */
export interface SeededSummary {
  labeled_per_species: number;
  method: SeededMethod;
  temperature: number | null;
  features: SeededFeatures;
  /** The labeled images' weight in the refitted whitening (null without a refit). */
  refit_weight: number | null;
  /** Whose features: the head's (whitening and adapter over frozen features) or the fine-tuned last block's. */
  trainable: BenchmarkTrainable;
  ari: number;
  ari_sd: number;
  /** The same method on the frozen features (no whitening, no refit). */
  frozen_ari: number;
  /** Mean validation ARI of every candidate, by candidateName. */
  validation: Record<string, number>;
  /** The best candidate on validation that does not assume equally common species, with its test ARI (null when that is the chosen one). */
  unbalanced: {
    method: SeededMethod;
    temperature: number | null;
    features: SeededFeatures;
    refit_weight: number | null;
    trainable: BenchmarkTrainable;
    validation_ari: number;
    ari: number;
    ari_sd: number;
  } | null;
}

/**
 * The candidates tried on validation: every method, on the chosen features and on the whitening refitted with
 * each labeled image counted 4 or 16 times (4 was chosen on the EU Moths validation species with power-1
 * whitening; with the square roots, validation ARI rose from 0.866 at 4 to 0.876 at 8 and 0.880 at 16, then fell
 * to 0.868 at 32: soft seeded K-means T0.05).
 */
export const SEEDED_CANDIDATES: readonly SeededCandidate[] = [null, 4, 16].flatMap((refit) => [
  { method: 'seeded-kmeans', temperature: null, refit },
  { method: 'label-spreading', temperature: null, refit },
  ...[0.03, 0.05, 0.1].map((temperature) => ({ method: 'soft-seeded-kmeans' as const, temperature, refit })),
  ...[0.05, 0.1].map((temperature) => ({ method: 'balanced-soft-seeded-kmeans' as const, temperature, refit })),
]);

/** A candidate's name in logs and JSON, e.g. `soft-seeded-kmeans T0.05, whitening refit x4`. */
export function candidateName(candidate: SeededCandidate): string {
  return `${candidate.method}${candidate.temperature === null ? '' : ` T${candidate.temperature}`}${candidate.refit === null ? '' : `, whitening refit x${candidate.refit}`}`;
}

/** The benchmark's labeled images: `perSpecies` random rows of each species (the same for a seed and run). */
function pickLabeled(labels: Int32Array, perSpecies: number, seed: number, run: number): Int32Array {
  const classes = new Set(labels).size;
  const random = seededRandom(deriveSeed(seed, 100 + run));
  const seeds = new Int32Array(labels.length).fill(-1);
  for (let species = 0; species < classes; species++) {
    const rows = Array.from(labels.keys()).filter((row) => labels[row] === species);
    for (let pick = 0; pick < perSpecies && rows.length > 0; pick++) {
      const [row] = rows.splice(Math.floor(random() * rows.length), 1);
      seeds[row!] = species;
    }
  }
  return seeds;
}

/** Predicts every row's species with one seeded method. */
async function seededLabels(vectors: VectorSet, seeds: Int32Array, classes: number, candidate: SeededCandidate, seed: number): Promise<Int32Array> {
  switch (candidate.method) {
    case 'label-spreading':
      return (await labelSpreading(vectors, { seeds })).labels;
    case 'soft-seeded-kmeans':
    case 'balanced-soft-seeded-kmeans':
      return (await softSeededKmeans(vectors, { k: classes, seeds, seed, temperature: candidate.temperature ?? undefined, balanced: candidate.method === 'balanced-soft-seeded-kmeans' })).labels;
    default:
      return (await seededKmeans(vectors, { k: classes, seeds, seed })).labels;
  }
}

/**
 * Seeded clustering over runs, scored on the unlabeled rows. `featuresFor` gives the features of a run
 * (fixed ones, or a whitening refitted with that run's labeled images).
 */
async function seededRuns(
  featuresFor: (seeds: Int32Array, run: number) => Promise<VectorSet>,
  labels: Int32Array,
  perSpecies: number,
  runs: number,
  seed: number,
  candidate: SeededCandidate,
): Promise<{ ari: number; ari_sd: number }> {
  const classes = new Set(labels).size;
  const aris: ClusteringScores[] = [];
  for (let run = 0; run < runs; run++) {
    const seeds = pickLabeled(labels, perSpecies, seed, run);
    const predicted = await seededLabels(await featuresFor(seeds, run), seeds, classes, candidate, deriveSeed(seed, run));
    const unlabeled = Array.from(labels.keys()).filter((row) => seeds[row]! < 0);
    aris.push(scoreClustering(unlabeled.map((row) => labels[row]!), unlabeled.map((row) => predicted[row]!)));
  }
  const summary = summarise(aris);
  return { ari: summary.ari, ari_sd: summary.ari_sd };
}

function average(first: Float32Array, second: Float32Array): Float32Array {
  return first.map((value, index) => (value + second[index]!) / 2);
}

/** The whitening settings of the benchmark: 256 dimensions, shrinkage 0.1, the chosen input power. */
function whiteningSettings(power: number) {
  return { dims: 256, shrinkage: 0.1, power };
}

/** Within-class whitening with the benchmark's settings, its fitting time logged. */
async function fitWhitening(train: LabeledFeatures, power: number, log: (line: string) => void): Promise<AdapterWeights> {
  const started = performance.now();
  const whitening = await fitWithinClassWhitening(train, whiteningSettings(power));
  log(`Within-class whitening (power ${power}) fitted in ${((performance.now() - started) / 1000).toFixed(1)} s (${whitening.inputDims} -> ${whitening.outputDims})`);
  return whitening;
}

/** Whitening and the episodic adapter fitted over one set of features, scored on validation and test species. */
interface FeatureSpace {
  train: LabeledFeatures;
  validationInput: LabeledFeatures;
  testInput: VectorSet;
  whitening: AdapterWeights;
  whitenedTest: VectorSet;
  whitened: { kmeans: ScoreSummary; spectral: ScoreSummary };
  chosen: { alpha: number; weights: AdapterWeights; ca: number; epoch: number };
  validationCaByAlpha: Record<string, number>;
  /** Test species through whitening and the chosen adapter, and their clustering scores. */
  adapted: VectorSet;
  episodic: { kmeans: ScoreSummary; spectral: ScoreSummary };
  finalCa: Record<FinalFeatures, number>;
  final: FinalFeatures;
  finalWeights: AdapterWeights;
}

/**
 * Within-class whitening (after the input power, fitted on the training species by the caller: fitWhitening)
 * scored on test, then episodic training (Eq. 3) of a residual linear adapter over the whitened features: it starts from the whitening
 * alone and weight decay pulls it back there. Alpha and epoch are chosen on validation, then whitening alone
 * or with the adapter by the same validation CA measure (mean over 3 K-means seeds).
 */
async function fitFeatureSpace(
  train: LabeledFeatures,
  validationInput: LabeledFeatures,
  testInput: VectorSet,
  testLabels: Int32Array,
  alphas: readonly number[],
  whitening: AdapterWeights,
  options: PaperBenchmarkOptions,
  context: { seed: number; runs: number; log: (line: string) => void; report: (fraction: number, message: string) => void },
): Promise<FeatureSpace> {
  const { seed, runs, log, report } = context;
  const whitenedTest = await applyAdapter(whitening, testInput);
  report(0, 'Clustering whitened features');
  const whitened = await clusterRuns(whitenedTest, testLabels, runs, seed);
  log(`Whitened: K-means ARI ${whitened.kmeans.ari.toFixed(3)}, spectral ARI ${whitened.spectral.ari.toFixed(3)}`);

  const whitenedTrain = await mapLabeledFeatures(whitening, train);
  const whitenedValidation = await mapLabeledFeatures(whitening, validationInput);
  const validationCaByAlpha: Record<string, number> = {};
  let chosen: FeatureSpace['chosen'] | null = null;
  for (const [index, alpha] of alphas.entries()) {
    const result = await trainAdapter(whitenedTrain, whitenedValidation, {
      hiddenDims: 0,
      residual: true,
      normaliseOutput: true,
      learningRate: 1e-3,
      ...options.training,
      alpha,
      seed,
      onProgress: (progress) => report(0.1 + 0.8 * ((index + progress.fraction) / alphas.length), `alpha ${alpha}: ${progress.message}`),
    });
    const ca = Math.max(...result.history.map((record) => record.validationCa));
    validationCaByAlpha[String(alpha)] = ca;
    log(`alpha ${alpha}: best validation CA ${ca.toFixed(4)} at epoch ${result.bestEpoch} (${result.seconds.toFixed(1)} s)`);
    if (!chosen || ca > chosen.ca) chosen = { alpha, weights: { ...result.best, before: whitening }, ca, epoch: result.bestEpoch };
  }

  report(0.9, `Clustering test species with alpha ${chosen!.alpha}`);
  const adapted = await applyAdapter(chosen!.weights, testInput);
  const episodic = await clusterRuns(adapted, testLabels, runs, seed);
  log(`Episodic (alpha ${chosen!.alpha}): K-means ARI ${episodic.kmeans.ari.toFixed(3)}, spectral ARI ${episodic.spectral.ari.toFixed(3)}`);
  const finalCa = { whitening: await meanValidationCa(whitening, validationInput, seed), episodic: await meanValidationCa(chosen!.weights, validationInput, seed) };
  const final: FinalFeatures = finalCa.episodic > finalCa.whitening ? 'episodic' : 'whitening';
  log(`Validation CA, whitening ${finalCa.whitening.toFixed(4)} vs episodic ${finalCa.episodic.toFixed(4)}: using ${final}`);
  return {
    train,
    validationInput,
    testInput,
    whitening,
    whitenedTest,
    whitened,
    chosen: chosen!,
    validationCaByAlpha,
    adapted,
    episodic,
    finalCa,
    final,
    finalWeights: final === 'episodic' ? chosen!.weights : whitening,
  };
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
    const backbones = await scaleBackbones(project, options.scales ?? PAPER_BENCHMARK_SCALES, model);
    const scales = backbones.map((backbone) => backbone.preprocessing.size);
    const featuresId = multiScaleId(backbones);
    log(`Model ${backbones.map((backbone) => backbone.id).join(', ')} on ${backbones[0]!.runtime}`);
    // Each photo is decoded once per input size for both its plain and mirrored views.
    const embedStarted = performance.now();
    const summaries = await embedScales(project.store, backbones, {
      withMirror: true,
      onProgress: (progress) => report({ fraction: 0.05 + 0.1 * progress.fraction, message: progress.message }),
    });
    const embedSeconds = summaries.some((summary) => summary.embedded > 0) ? (performance.now() - embedStarted) / 1000 : 0;
    log(`Embedded ${summaries.map((summary, index) => `${summary.embedded} photos at ${scales[index]} px`).join(', ')} (plain and mirrored) in ${embedSeconds.toFixed(1)} s`);
    // The plain and the mirrored photo's features, each averaged over the input sizes.
    const views = scaleAveragedViews(project.store, backbones.map((backbone) => backbone.id));
    const speciesOf = new Map(
      (project.store.database
        .prepare('SELECT l.image_id AS imageId, s.name AS name FROM labels l JOIN species s ON s.id = l.species_id')
        .all() as { imageId: number; name: string }[]).map((row) => [row.imageId, normaliseSpeciesName(row.name)]),
    );
    // Rows in the dataset folder's scan order, not in image id order: episodes, whitening sums and K-means
    // seeding take rows by position, and a cache imported before imports wrote rows in scan order numbered
    // its photos by when their decode finished, so two caches of the same photos gave different figures
    // for one seed. A fresh cache's ids are in scan order already.
    const scanPosition = new Map((await scanImageFolder(dataset)).map((entry, position) => [entry.path, position]));
    const positionOf = new Map(
      (project.store.database.prepare('SELECT id, path FROM images').all() as { id: number; path: string }[]).map((row) => [
        row.id,
        scanPosition.get(row.path) ?? Number.MAX_SAFE_INTEGER,
      ]),
    );
    const rowsInScanOrder = views.imageIds.map((id, row) => [row, id] as const).sort(([, first], [, second]) => positionOf.get(first)! - positionOf.get(second)!);
    const dims = views.dims;
    const subset = (species: Set<string>): LabeledFeatures & { names: string[]; imageIds: number[] } => {
      const rows = rowsInScanOrder.filter(([, id]) => species.has(speciesOf.get(id) ?? ''));
      const names = [...new Set(rows.map(([, id]) => speciesOf.get(id)!))].sort();
      const data = gatherRows(views.plain, dims, rows.map(([row]) => row));
      const mirrored = gatherRows(views.mirrored, dims, rows.map(([row]) => row));
      const labels = Int32Array.from(rows.map(([, id]) => names.indexOf(speciesOf.get(id)!)));
      return { data, count: rows.length, dims, labels, views: [mirrored], names, imageIds: rows.map(([, id]) => id) };
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
    // The input power before the whitening, chosen by the whitening alone on the validation species.
    // The whitening of each power is kept: the chosen one starts the head, the power-1 one is the last block's loss space.
    const powerCa: Record<string, number> = {};
    const whiteningByPower = new Map<number, AdapterWeights>();
    for (const candidate of options.powers ?? [1, WHITENING_POWER]) {
      const whitening = await fitWhitening(train, candidate, log);
      whiteningByPower.set(candidate, whitening);
      powerCa[String(candidate)] = await meanValidationCa(whitening, validationInput, seed);
    }
    const power = Number(Object.entries(powerCa).reduce((top, entry) => (entry[1] > top[1] ? entry : top))[0]);
    log(`Input power before whitening, validation CA ${JSON.stringify(powerCa)}: using ${power}`);
    const head = await fitFeatureSpace(train, validationInput, testInput, test.labels, alphas, whiteningByPower.get(power)!, options, { seed, runs, log, report: (fraction, message) => report({ fraction: 0.2 + 0.5 * fraction, message }) });
    const trainSeconds = (performance.now() - trainStarted) / 1000;
    const { whitened } = head;

    // The backbone's last block, fine-tuned on cached block inputs at the head's alpha, then whitening and
    // the adapter over its features; the validation species decide between the two.
    let space = head;
    let trainable: BenchmarkTrainable = 'head';
    let lastBlocks: LastBlockSummary | null = null;
    let blockSpace: FeatureSpace | null = null;
    if ((options.trainables ?? ['head']).includes('last-blocks')) {
      const alpha = head.chosen.alpha;
      const embedStarted = performance.now();
      const blockBackbones = await scaleBackbones(project, scales, model, 'input');
      await embedScales(project.store, blockBackbones, { withMirror: true, onProgress: (progress) => report({ fraction: 0.7, message: `Last-block inputs: ${progress.message}` }) });
      const blockEmbedSeconds = (performance.now() - embedStarted) / 1000;
      const pretrained = findLastBlock(await readTfjsArtifacts((await resolveModelPath(model)).file));
      const inputsOf = (part: typeof train) => ({ ...blockInputsFor(project.store, blockBackbones, pretrained.inputs, part.imageIds), labels: part.labels });
      const [trainMaps, validationMaps, testMaps] = [inputsOf(train), inputsOf(validation), inputsOf(test)];
      const tasksPerEpoch = options.lastBlockTasks ?? 100;
      const blockStarted = performance.now();
      const trained = await trainLastBlock(pretrained, trainMaps, validationMaps, {
        way: options.training?.way,
        shot: options.training?.shot,
        query: options.training?.query,
        epochs: options.training?.epochs,
        alpha,
        tasksPerEpoch,
        seed,
        // The loss measured through the frozen features' whitening (the pretrained block's features are the
        // frozen ones), the one without the input power, which the block's loss cannot take (last-block.ts).
        lossSpace: whiteningByPower.get(1) ?? (await fitWhitening(train, 1, log)),
        onProgress: (progress) => report({ fraction: 0.7 + 0.1 * progress.fraction, message: progress.message }),
      });
      const blockSeconds = (performance.now() - blockStarted) / 1000;
      log(`Last block: validation CA ${trained.initialValidationCa.toFixed(4)} pretrained, best epoch ${trained.bestEpoch}, trained in ${blockSeconds.toFixed(1)} s`);
      const blockTrain = await labeledBlockFeatures(trained.best, trainMaps);
      const blockValidation: LabeledFeatures = { ...(await lastBlockFeatures(trained.best, validationMaps, 'average')), labels: validation.labels, views: [] };
      const blockTest = await lastBlockFeatures(trained.best, testMaps, 'average');
      const blockWhitening = await fitWhitening(blockTrain, power, (line) => log(`Last block: ${line}`));
      blockSpace = await fitFeatureSpace(blockTrain, blockValidation, blockTest, test.labels, [alpha], blockWhitening, options, {
        seed,
        runs,
        log: (line) => log(`Last block: ${line}`),
        report: (fraction, message) => report({ fraction: 0.8 + 0.05 * fraction, message: `Last block: ${message}` }),
      });
      lastBlocks = {
        block_validation_ca: { pretrained: trained.initialValidationCa, trained: Math.max(trained.initialValidationCa, ...trained.history.map((record) => record.validationCa)) },
        block_epoch: trained.bestEpoch,
        tasks_per_epoch: tasksPerEpoch,
        embed_seconds: blockEmbedSeconds,
        train_seconds: blockSeconds,
        kmeans: blockSpace.episodic.kmeans,
        spectral: blockSpace.episodic.spectral,
        validationCa: blockSpace.finalCa,
        head_validation_ca: head.finalCa[head.final],
      };
      if (blockSpace.finalCa[blockSpace.final] > head.finalCa[head.final]) {
        space = blockSpace;
        trainable = 'last-blocks';
      }
      log(`Validation CA, head ${head.finalCa[head.final].toFixed(4)} vs last block ${blockSpace.finalCa[blockSpace.final].toFixed(4)}: using ${trainable}`);
    }
    const { final } = space;

    let seeded: PaperBenchmarkResult['seeded'] = null;
    if (labeledPerSpecies > 0) {
      // The seeded method, its settings and its features (of each fine-tuning tried) are chosen on the
      // validation species, with the same number of labels each; only the chosen one (and the best without
      // the balance assumption) sees test.
      report({ fraction: 0.9, message: 'Choosing the seeded method on validation species' });
      const fixed = (vectors: VectorSet) => async () => vectors;
      // The whitening refitted on the training species plus one run's labeled images, each counted `weight`
      // times (cached per weight and run).
      const refitted = (fitted: FeatureSpace, input: VectorSet) => {
        const cache = new Map<string, VectorSet>();
        return (weight: number) => async (seeds: Int32Array, run: number) => {
          const key = `${weight} ${run}`;
          if (!cache.has(key)) {
            const refit = await fitWithinClassWhitening(withLabeledSpecies(fitted.train, input, seeds, weight), whiteningSettings(fitted.whitening.inputPower ?? 1));
            cache.set(key, await applyAdapter(refit, input));
          }
          return cache.get(key)!;
        };
      };
      type Option = { candidate: SeededCandidate; trainable: BenchmarkTrainable; fitted: FeatureSpace; name: string };
      const options_: Option[] = [
        { trainable: 'head' as const, fitted: head },
        ...(blockSpace ? [{ trainable: 'last-blocks' as const, fitted: blockSpace }] : []),
      ].flatMap(({ trainable: kind, fitted }) =>
        SEEDED_CANDIDATES.map((candidate) => ({ candidate, trainable: kind, fitted, name: `${kind === 'head' ? '' : 'last block: '}${candidateName(candidate)}` })),
      );
      const validationAri: Record<string, number> = {};
      const validationFeatures = new Map<FeatureSpace, { adapted: VectorSet; refit: ReturnType<typeof refitted> }>();
      for (const option of options_) {
        if (!validationFeatures.has(option.fitted)) {
          validationFeatures.set(option.fitted, { adapted: await applyAdapter(option.fitted.finalWeights, option.fitted.validationInput), refit: refitted(option.fitted, option.fitted.validationInput) });
        }
        const features = validationFeatures.get(option.fitted)!;
        const result = await seededRuns(option.candidate.refit !== null ? features.refit(option.candidate.refit) : fixed(features.adapted), validation.labels, labeledPerSpecies, runs, seed, option.candidate);
        validationAri[option.name] = result.ari;
        log(`Seeded on validation: ${option.name} ARI ${result.ari.toFixed(3)} (${result.ari_sd.toFixed(3)})`);
      }
      const best = (candidates: readonly Option[]) => candidates.reduce((top, option) => (validationAri[option.name]! > validationAri[top.name]! ? option : top));
      const chosenSeeded = best(options_);
      const unbalanced = best(options_.filter((option) => option.candidate.method !== 'balanced-soft-seeded-kmeans'));
      log(`Seeded: using ${chosenSeeded.name}; best without assuming equally common species: ${unbalanced.name}`);
      const onTest = (option: Option) => {
        const { fitted, candidate } = option;
        const adaptedTest = fitted.final === 'episodic' ? fitted.adapted : fitted.whitenedTest;
        return seededRuns(candidate.refit !== null ? refitted(fitted, fitted.testInput)(candidate.refit) : fixed(adaptedTest), test.labels, labeledPerSpecies, runs, seed, candidate);
      };
      const featuresOf = (option: Option): SeededFeatures => (option.candidate.refit !== null ? 'whitening-refit' : option.fitted.final);
      const withAdapter = await onTest(chosenSeeded);
      const withFrozen = await seededRuns(fixed(testInput), test.labels, labeledPerSpecies, runs, seed, { ...chosenSeeded.candidate, refit: null });
      const unbalancedTest = unbalanced === chosenSeeded ? null : await onTest(unbalanced);
      seeded = {
        labeled_per_species: labeledPerSpecies,
        method: chosenSeeded.candidate.method,
        temperature: chosenSeeded.candidate.temperature,
        features: featuresOf(chosenSeeded),
        refit_weight: chosenSeeded.candidate.refit,
        trainable: chosenSeeded.trainable,
        ari: withAdapter.ari,
        ari_sd: withAdapter.ari_sd,
        frozen_ari: withFrozen.ari,
        validation: validationAri,
        unbalanced: unbalancedTest && {
          method: unbalanced.candidate.method,
          temperature: unbalanced.candidate.temperature,
          features: featuresOf(unbalanced),
          refit_weight: unbalanced.candidate.refit,
          trainable: unbalanced.trainable,
          validation_ari: validationAri[unbalanced.name]!,
          ...unbalancedTest,
        },
      };
    }
    report({ fraction: 1, message: 'Done' });
    return {
      dataset,
      model: backbones[0]!.id,
      scales,
      features: featuresId,
      species: { train: new Set(train.labels).size, validation: new Set(validation.labels).size, test: new Set(test.labels).size },
      images: { train: train.count, validation: validation.count, test: test.count },
      runs,
      frozen,
      whitened,
      power: { chosen: power, validationCa: powerCa },
      final: { features: final, validationCa: space.finalCa },
      episodic: { alpha: head.chosen.alpha, ...head.episodic, validationCa: head.validationCaByAlpha, bestEpoch: head.chosen.epoch },
      trainable,
      last_blocks: lastBlocks,
      seeded,
      train_seconds: trainSeconds,
      embed_seconds: embedSeconds,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await project.close();
  }
}

/** The issue's JSON line: frozen, episodic, seeded and train_seconds (plus whitened, final, scales, embed_seconds). */
export function paperBenchmarkJson(result: PaperBenchmarkResult): string {
  const pick = (summary: ScoreSummary) => ({ ca: summary.ca, nmi: summary.nmi, ami: summary.ami, ari: summary.ari, ari_sd: summary.ari_sd });
  return JSON.stringify({
    frozen: { kmeans: pick(result.frozen.kmeans), spectral: pick(result.frozen.spectral) },
    whitened: { kmeans: pick(result.whitened.kmeans), spectral: pick(result.whitened.spectral) },
    power: result.power.chosen,
    final: result.final.features,
    episodic: { alpha: result.episodic.alpha, kmeans: pick(result.episodic.kmeans), spectral: pick(result.episodic.spectral) },
    trainable: result.trainable,
    last_blocks: result.last_blocks && {
      kmeans: pick(result.last_blocks.kmeans),
      spectral: pick(result.last_blocks.spectral),
      block_validation_ca: result.last_blocks.block_validation_ca,
      block_epoch: result.last_blocks.block_epoch,
      tasks_per_epoch: result.last_blocks.tasks_per_epoch,
      validation_ca: result.last_blocks.validationCa,
      head_validation_ca: result.last_blocks.head_validation_ca,
      train_seconds: result.last_blocks.train_seconds,
      embed_seconds: result.last_blocks.embed_seconds,
    },
    seeded: result.seeded
      ? {
          labeled_per_species: result.seeded.labeled_per_species,
          method: result.seeded.method,
          temperature: result.seeded.temperature,
          features: result.seeded.features,
          refit_weight: result.seeded.refit_weight,
          trainable: result.seeded.trainable,
          ari: result.seeded.ari,
          ari_sd: result.seeded.ari_sd,
          unbalanced: result.seeded.unbalanced,
        }
      : null,
    train_seconds: result.train_seconds,
    scales: result.scales,
    embed_seconds: result.embed_seconds,
  });
}

/** A table like the paper's Table 1. */
export function paperBenchmarkTable(result: PaperBenchmarkResult): string {
  const cell = (value: number, sd?: number) => (sd === undefined ? value.toFixed(3) : `${value.toFixed(3)} (${sd.toFixed(3)})`);
  const frozenName = `frozen (${result.scales.join(' + ')} px, mirror-averaged)`;
  const whitenedName = `frozen${result.power.chosen === 1 ? '' : ` ^ ${result.power.chosen}`} + within-class whitening`;
  const rows: (readonly [string, string, ScoreSummary])[] = [
    [frozenName, 'K-means', result.frozen.kmeans],
    [frozenName, 'spectral', result.frozen.spectral],
    [whitenedName, 'K-means', result.whitened.kmeans],
    [whitenedName, 'spectral', result.whitened.spectral],
    [`whitening + episodic, alpha ${result.episodic.alpha}`, 'K-means', result.episodic.kmeans],
    [`whitening + episodic, alpha ${result.episodic.alpha}`, 'spectral', result.episodic.spectral],
  ];
  if (result.last_blocks) {
    const name = `last block + whitening + episodic, alpha ${result.episodic.alpha}`;
    rows.push([name, 'K-means', result.last_blocks.kmeans], [name, 'spectral', result.last_blocks.spectral]);
  }
  const lines = [
    `${result.dataset}: ${result.species.test} test species, ${result.images.test} images; model ${result.model}, features ${result.features}; mean (SD) over ${result.runs} runs`,
    '| features | clustering | CA | NMI | AMI | ARI |',
    '|---|---|---|---|---|---|',
    ...rows.map(([features, method, summary]) => `| ${features} | ${method} | ${cell(summary.ca, summary.ca_sd)} | ${cell(summary.nmi)} | ${cell(summary.ami)} | ${cell(summary.ari, summary.ari_sd)} |`),
  ];
  if (result.seeded) {
    const seeded = result.seeded;
    const named = (method: SeededMethod, temperature: number | null) => (temperature === null ? method : `${method} T${temperature}`);
    const method = named(seeded.method, seeded.temperature);
    const features = (summary: { features: SeededFeatures; refit_weight: number | null }) => `${summary.features}${summary.refit_weight === null ? '' : ` x${summary.refit_weight}`}`;
    lines.push(
      `| ${seeded.trainable === 'last-blocks' ? 'last block + ' : ''}${features(seeded)}, ${seeded.labeled_per_species} labeled per species (ARI on the rest) | ${method} | | | | ${cell(seeded.ari, seeded.ari_sd)} |`,
      `| ${frozenName}, ${seeded.labeled_per_species} labeled per species (ARI on the rest) | ${method} | | | | ${cell(seeded.frozen_ari)} |`,
    );
    if (seeded.unbalanced) {
      const other = seeded.unbalanced;
      lines.push(`| ${other.trainable === 'last-blocks' ? 'last block + ' : ''}${features(other)}, ${seeded.labeled_per_species} labeled per species, best not assuming equally common species | ${named(other.method, other.temperature)} | | | | ${cell(other.ari, other.ari_sd)} |`);
    }
  }
  lines.push(`Input power chosen on validation (mean K-means CA of the whitening): ${result.power.chosen} ${JSON.stringify(result.power.validationCa)}`);
  lines.push(`Chosen on validation (mean K-means CA): ${result.final.features} ${JSON.stringify(result.final.validationCa)}`);
  if (result.last_blocks) {
    const block = result.last_blocks;
    lines.push(
      `Fine-tuning chosen on validation: ${result.trainable}. Last block: whitened validation CA ${block.block_validation_ca.pretrained.toFixed(3)} pretrained, ${block.block_validation_ca.trained.toFixed(3)} at epoch ${block.block_epoch}; ${block.tasks_per_epoch} tasks an epoch in ${block.train_seconds.toFixed(1)} s (block inputs embedded in ${block.embed_seconds.toFixed(1)} s); with whitening and adapter ${JSON.stringify(block.validationCa)}`,
    );
  }
  lines.push(`Embedding (${result.scales.join(', ')} px, plain and mirrored, what the cache lacked): ${result.embed_seconds.toFixed(1)} s`);
  if (result.seeded) lines.push(`Seeded, validation ARI: ${Object.entries(result.seeded.validation).map(([name, ari]) => `${name} ${ari.toFixed(3)}`).join('; ')}`);
  lines.push(`Training (whitening and all alphas ${Object.keys(result.episodic.validationCa).join(', ')}): ${result.train_seconds.toFixed(1)} s; validation CA ${JSON.stringify(result.episodic.validationCa)}`);
  return lines.join('\n');
}
