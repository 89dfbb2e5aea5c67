/**
 * Fine-tunes a project's embedding space on the species the user labeled: optionally the backbone's last
 * block first (on cached block inputs of the labeled photos, then every photo embedded again with it), then
 * within-class whitening fitted in closed form, then episodic training of the adapter head over the whitened backbone features (averaged
 * over the project's input sizes, `embedding.scales`; mirrored views as augmentation), validation species held out automatically, the checkpoint stored in the project
 * and made active for clustering.
 */
import { type AdapterWeights, encodeAdapter } from '../core/training/adapter';
import { shuffledPrefix } from '../core/training/episodes';
import { type EpochRecord, type LabeledFeatures, type TrainOptions, type TrainResult, meanValidationCa, trainAdapter, validationClusterAccuracy } from '../core/training/trainer';
import { fitWithinClassWhitening, mapLabeledFeatures, WHITENING_POWER } from '../core/training/whitening';
import { type BlockInputs, labeledBlockFeatures, trainLastBlock } from '../core/training/last-block';
import { resolveModelPath } from '../core/backbones/load-backbone';
import { readTfjsArtifacts } from '../core/backbones/tfjs-artifacts';
import { findLastBlock, type LastBlockWeights } from '../core/backbones/tfjs-to-onnx';
import type { Progress } from '../core/util/progress';
import { deriveSeed, seededRandom } from '../core/util/random';
import { ACTIVE_CHECKPOINT_SETTING, adapterModelId, blockInputsFor, embedScales, multiScaleId, prepareEmbeddings, projectScales, scaleAveragedViews, scaleBackbones } from './embedding-space';
import type { Project } from './project';
import type { CrossValidation, TrainingRunStage, TrainingSplit } from './project-store';
import { type StoredSettings, trainingFingerprint } from './training-runs';
import { gatherRows } from '../core/util/rows';
import { ADAPTER_CODEC, BLOCK_CODEC, decodeHistory, decodeTrainerState, encodeHistory, encodeTrainerState, packParts, unpackParts } from '../core/training/training-state';

/**
 * What is trained: the adapter head over frozen features, or first the backbone's last block on cached block
 * inputs (last-block.ts; TF.js models such as the bundled MobileNetV2). The whole backbone ('all') is not
 * implemented: it would need a GPU runtime (forward and backward through TF.js's cpu backend take about 12 s an
 * image at 224 px; the WebAssembly backend has no backward kernels).
 */
export type Trainable = 'head' | 'last-blocks' | 'all';

/** Project training settings. */
export interface ProjectTrainOptions extends Omit<TrainOptions, 'onEpoch' | 'resume' | 'onState'> {
  trainable?: Trainable;
  /** After each epoch of either stage: the last block's (with trainable 'last-blocks', first) or the adapter's. */
  onEpoch?: (record: EpochRecord & { stage: TrainingRunStage }) => void;
  /** Tasks per epoch of last-block training (each costs about 30 adapter tasks). Default 100. */
  blockTasksPerEpoch?: number;
  /**
   * Go on with the project's stopped run (cancelled, failed or cut off) from its last finished epoch, with the
   * settings it was started with (those given here are ignored); it ends as the uninterrupted run would have.
   */
  resume?: boolean;
}

/** What training produced. */
export interface ProjectTrainResult {
  checkpointId: number;
  embeddingModelId: string;
  trainSpecies: string[];
  validationSpecies: string[];
  bestEpoch: number;
  history: EpochRecord[];
  /** Last-block training's epochs (empty for the head alone) and the epoch kept (0: the pretrained block). */
  blockHistory: EpochRecord[];
  blockEpoch: number | null;
  /** Folds of cross-validation that chose the epochs (0: species were held out, or too few to cross-validate). */
  crossValidationFolds: number;
  seconds: number;
}

/**
 * Species with enough labeled images (`needed` each), and the validation species held out (about a fifth, at
 * least 2, when there are 6 or more): chosen from the labels alone, so both stages see the same split.
 */
function chooseSplit(bySpecies: Map<string, unknown[]>, needed: number, seed: number): TrainingSplit {
  const eligible = [...bySpecies].filter(([, images]) => images.length >= needed).map(([species]) => species).sort();
  if (eligible.length < 2) {
    throw new Error(
      `Training needs at least 2 species with ${needed} or more labeled images each; ${eligible.length} have enough. Label more images (or lower shot and query).`,
    );
  }
  const shuffled = shuffledPrefix(eligible, eligible.length, seededRandom(deriveSeed(seed, 7)));
  const validationCount = eligible.length >= 6 ? Math.max(2, Math.round(eligible.length / 5)) : 0;
  return { train: shuffled.slice(validationCount).sort(), validation: shuffled.slice(0, validationCount).sort() };
}

/** Trains, stores the checkpoint, activates it and re-embeds the project with it. */
export async function trainProject(project: Project, given: ProjectTrainOptions = {}): Promise<ProjectTrainResult> {
  const { onEpoch, onProgress: reportProgress, signal, resume: resuming, ...givenSettings } = given;
  const run = resuming ? project.store.stoppedTrainingRun() : null;
  if (resuming && !run) throw new Error('This project has no stopped training run to resume; start a new one with Train.');
  const settings = run ? (run.settings as StoredSettings) : givenSettings;
  const options: ProjectTrainOptions = { ...settings, signal, onEpoch };
  const { trainable = 'head', shot = 5, query = 6, seed = 0 } = options;
  const onProgress = reportProgress ?? ((_progress: Progress) => {});
  if (trainable === 'all') {
    throw new Error(
      'Training the whole backbone is not available in this version: on a CPU one pass takes about 12 s an image, so the paper’s schedule would take months. Use --trainable head or last-blocks.',
    );
  }
  const started = performance.now();
  const bySpecies = new Map<string, { imageId: number; sha256: string }[]>();
  for (const { imageId, sha256, species } of project.store.labeledImages()) {
    let list = bySpecies.get(species);
    if (!list) bySpecies.set(species, (list = []));
    list.push({ imageId, sha256 });
  }
  // A resumed run keeps the split it started with: a photo that failed to decode since may have left a species
  // short of shot + query images; the run went on without that photo, and so does the resumed one.
  const { train: trainSpecies, validation: validationSpecies } = run?.split ?? chooseSplit(bySpecies, shot + query, seed);
  const labeledOf = (species: string[]) => species.flatMap((name, label) => (bySpecies.get(name) ?? []).map((image) => ({ ...image, label })));

  const scales = projectScales(project.store);
  // The run is stored after every epoch; a resume goes on only with what it trained on.
  const fingerprint = trainingFingerprint(project, scales);
  if (run && run.fingerprint !== fingerprint) {
    throw new Error('The labels, the model or the input sizes changed since this training run stopped, so it cannot go on where it left off. Start a new training run.');
  }
  const runId = run?.id ?? project.store.startTrainingRun({ settings, split: { train: trainSpecies, validation: validationSpecies }, fingerprint, stage: trainable === 'last-blocks' ? 'last-block' : 'adapter' });
  const blockDone = run?.stage === 'adapter' && run.blockResult ? decodeBlockResult(run.blockResult) : null;
  const blockResume = run?.stage === 'last-block' && run.state ? decodeTrainerState(run.state, BLOCK_CODEC) : undefined;
  const adapterResume = run?.stage === 'adapter' && run.state ? decodeTrainerState(run.state, ADAPTER_CODEC) : undefined;
  if (run) onProgress({ fraction: 0, message: `Resuming training: ${run.stage === 'last-block' ? 'last block' : 'adapter'}, ${run.epoch} epochs done` });
  // The curves show the epochs already done, as they would have been seen.
  for (const record of blockDone?.history ?? blockResume?.loop.history ?? []) onEpoch?.({ ...record, stage: 'last-block' });
  for (const record of adapterResume?.loop.history ?? []) onEpoch?.({ ...withFoldMean(record, run?.split.crossValidation), stage: 'adapter' });

  let lastBlock: LastBlockWeights | undefined = blockDone?.best ?? undefined;
  let blockHistory: EpochRecord[] = blockDone?.history ?? [];
  let blockEpoch: number | null = blockDone?.bestEpoch ?? null;
  const stageStart = trainable === 'last-blocks' ? 0.45 : 0;
  if (trainable === 'last-blocks' && !blockDone) {
    // The last block's inputs, embedded for the labeled images only (plain and mirrored, at every input size).
    const blockBackbones = await scaleBackbones(project, scales, undefined, 'input');
    const labeled = labeledOf([...trainSpecies, ...validationSpecies]);
    await embedScales(project.store, blockBackbones, {
      signal,
      withMirror: true,
      only: new Set(labeled.map((image) => image.sha256)),
      onProgress: (progress) => onProgress({ fraction: 0.1 * progress.fraction, message: `Last-block inputs: ${progress.message}` }),
    });
    const modelPath = project.modelPath();
    if (!modelPath) throw new Error('The project has no image model; choose one in the model panel first.');
    const pretrained = findLastBlock(await readTfjsArtifacts((await resolveModelPath(modelPath)).file));
    // A photo that could not be decoded (now marked unreadable) has no block input: it is left out, as it is
    // from the features below, instead of stopping the training.
    const readable = new Set(project.store.labeledImages().map((row) => row.sha256));
    const missing = new Set(
      blockBackbones.flatMap((backbone) => [backbone.id, `${backbone.id}#flip`].flatMap((id) => project.store.imagesMissingEmbedding(id).map((row) => row.sha256))),
    );
    const inputsOf = (species: string[]): BlockInputs | null => {
      if (species.length === 0) return null;
      const images = labeledOf(species).filter((image) => readable.has(image.sha256) && !missing.has(image.sha256));
      return { ...blockInputsFor(project.store, blockBackbones, pretrained.inputs, images.map((image) => image.imageId)), labels: Int32Array.from(images.map((image) => image.label)) };
    };
    const trainMaps = inputsOf(trainSpecies)!;
    // The loss is measured through the within-class whitening of the pretrained block's (the frozen) features.
    const result = await trainLastBlock(pretrained, trainMaps, inputsOf(validationSpecies), {
      lossSpace: await fitWithinClassWhitening(await labeledBlockFeatures(pretrained, trainMaps)),
      way: options.way,
      shot,
      query,
      epochs: options.epochs,
      alpha: options.alpha,
      learningRate: options.learningRate,
      milestones: options.milestones,
      gamma: options.gamma,
      // The block learns from episodes (Eq. 3 or the scatter loss); KCL and MCL train the adapter only.
      loss: options.loss === 'scatter' ? 'scatter' : 'proto',
      tasksPerEpoch: options.blockTasksPerEpoch ?? 100,
      seed,
      signal,
      resume: blockResume,
      onState: (state) => project.store.saveTrainingState(runId, { stage: 'last-block', epoch: state.loop.epoch, state: encodeTrainerState(state, BLOCK_CODEC) }),
      onEpoch: (record) => onEpoch?.({ ...record, stage: 'last-block' }),
      onProgress: (progress) => onProgress({ fraction: 0.1 + 0.35 * progress.fraction, message: progress.message }),
    });
    blockHistory = result.history;
    blockEpoch = result.bestEpoch;
    // Epoch 0 is the pretrained block: nothing to re-embed when no epoch beat it on the validation species.
    if (result.bestEpoch > 0) lastBlock = result.best;
    project.store.saveTrainingState(runId, { stage: 'adapter', epoch: 0, state: null, blockResult: encodeBlockResult(blockHistory, blockEpoch, lastBlock ?? null) });
  }
  const stage = (fraction: number) => stageStart + (1 - stageStart) * fraction;

  // The features clustering uses: averaged over the project's input sizes (`embedding.scales`), mirrored views
  // kept apart as augmentation; after last-block training, from the backbone run with the fine-tuned block.
  const backbones = await scaleBackbones(project, scales, undefined, lastBlock);
  const featuresId = multiScaleId(backbones);
  await embedScales(project.store, backbones, {
    signal,
    withMirror: true,
    onProgress: (progress) => onProgress({ fraction: stage(0.2 * progress.fraction), message: progress.message }),
  });
  const views = scaleAveragedViews(project.store, backbones.map((backbone) => backbone.id));
  const rowOf = new Map(views.imageIds.map((id, row) => [id, row]));
  const dims = views.dims;
  const features = (species: string[], average: boolean): LabeledFeatures => {
    const images = labeledOf(species).filter(({ imageId }) => rowOf.has(imageId));
    const rows = images.map(({ imageId }) => rowOf.get(imageId)!);
    const data = gatherRows(views.plain, dims, rows);
    const mirrored = gatherRows(views.mirrored, dims, rows);
    if (average) for (let index = 0; index < data.length; index++) data[index] = (data[index]! + mirrored[index]!) / 2;
    return { data, count: images.length, dims, labels: Int32Array.from(images.map((image) => image.label)), views: average ? [] : [mirrored] };
  };
  const train = features(trainSpecies, false);
  const validation = validationSpecies.length > 0 ? features(validationSpecies, true) : null;
  // Within-class whitening of the features' square roots (WHITENING_POWER) fitted on the training species
  // (closed form, see whitening.ts), then the episodic adapter over the whitened features: residual, so it
  // starts from the whitening alone.
  const adapterSettings: TrainOptions = { hiddenDims: 0, outputDims: 256, learningRate: 1e-3, ...settings };
  const trainHead = async (trainFeatures: LabeledFeatures, validationFeatures: LabeledFeatures | null, overrides: TrainOptions) => {
    const fitted = await fitWithinClassWhitening(trainFeatures, { power: WHITENING_POWER });
    const mappedValidation = validationFeatures ? await mapLabeledFeatures(fitted, validationFeatures) : null;
    const trainedHead = await trainAdapter(await mapLabeledFeatures(fitted, trainFeatures), mappedValidation, {
      ...adapterSettings,
      residual: adapterSettings.hiddenDims === 0,
      normaliseOutput: true,
      signal,
      ...overrides,
    });
    return { whitening: fitted, result: trainedHead };
  };
  const range = (from: number, to: number) => (progress: Progress) => onProgress({ fraction: stage(from + (to - from) * progress.fraction), message: progress.message });

  // With fewer than 6 labeled species none are held out; from 4 on, 2 at a time are, in turn (cross-validation),
  // to choose the number of epochs and whether the adapter beats the whitening alone.
  let crossValidation = run?.split.crossValidation ?? null;
  if (!validation && !crossValidation && trainSpecies.length >= 4) {
    crossValidation = await crossValidate(trainSpecies, features, seed, adapterSettings.epochs ?? 9, async (foldTrain, foldValidation, fold, folds) =>
      trainHead(foldTrain, foldValidation, { onProgress: range(0.2 + (0.3 * fold) / folds, 0.2 + (0.3 * (fold + 1)) / folds) }),
    );
    project.store.saveTrainingSplit(runId, { train: trainSpecies, validation: validationSpecies, crossValidation });
  }
  const { whitening, result: headResult } = await trainHead(train, validation, {
    ...(crossValidation ? { epochs: crossValidation.epochs } : {}),
    resume: adapterResume,
    onState: (state) => project.store.saveTrainingState(runId, { stage: 'adapter', epoch: state.loop.epoch, state: encodeTrainerState(state, ADAPTER_CODEC) }),
    // Cross-validated runs show each epoch's mean validation CA over the folds.
    onEpoch: (record) => onEpoch?.({ ...withFoldMean(record, crossValidation), stage: 'adapter' }),
    onProgress: range(crossValidation ? 0.5 : 0.2, 0.9),
  });
  const result = { ...headResult, history: headResult.history.map((record) => withFoldMean(record, crossValidation)) };
  // Keep the adapter only when it clusters the validation species better than the whitening alone
  // (mean K-means CA over 3 seeds, as the paper benchmark decides; cross-validated: the folds' means).
  const trained: AdapterWeights = { ...result.best, before: whitening };
  let weights: AdapterWeights = trained;
  if (validation && (await meanValidationCa(whitening, validation, seed)) >= (await meanValidationCa(trained, validation, seed))) weights = whitening;
  if (crossValidation && crossValidation.whiteningCa >= crossValidation.epochCa[crossValidation.epochs - 1]!) weights = whitening;
  // The checkpoint carries the fine-tuned block: its features come from the backbone run with it.
  if (lastBlock) weights = { ...weights, lastBlock };
  const { onProgress: _progress, onEpoch: _epoch, signal: _signal, resume: _resume, onState: _state, ...stored } = adapterSettings;
  const checkpointId = project.store.saveCheckpoint({
    modelId: featuresId,
    options: {
      ...stored,
      trainable,
      blockEpoch,
      trainSpecies,
      validationSpecies,
      crossValidation,
      inputSizes: backbones.map((backbone) => backbone.preprocessing.size),
    },
    history: result.history,
    bestEpoch: result.bestEpoch,
    weights: encodeAdapter(weights),
  });
  project.store.setSetting(ACTIVE_CHECKPOINT_SETTING, String(checkpointId));
  project.store.finishTrainingRun(runId);
  onProgress({ fraction: 0.95, message: 'Re-embedding every image with the fine-tuned adapter' });
  await prepareEmbeddings(project, { signal });
  const seconds = (performance.now() - started) / 1000;
  const blockNote = blockEpoch === null ? '' : blockEpoch > 0 ? `; last block from epoch ${blockEpoch}` : '; the pretrained last block stayed best on validation';
  onProgress({ fraction: 1, message: `Trained in ${seconds.toFixed(1)} s; best epoch ${result.bestEpoch}${blockNote}` });
  return {
    checkpointId,
    embeddingModelId: adapterModelId(featuresId, checkpointId),
    trainSpecies,
    validationSpecies,
    bestEpoch: result.bestEpoch,
    history: result.history,
    blockHistory,
    blockEpoch,
    crossValidationFolds: crossValidation?.folds ?? 0,
    seconds,
  };
}

/** An epoch of a cross-validated run as it is shown and stored: with the folds' mean validation CA after that many epochs. */
function withFoldMean(record: EpochRecord, crossValidation: CrossValidation | null | undefined): EpochRecord {
  return crossValidation ? { ...record, validationCa: crossValidation.epochCa[record.epoch - 1]! } : record;
}

/**
 * Cross-validation over 4 or 5 species, none of which can be spared for validation: 2 folds, each holding
 * out 2 species (shuffled by the seed) and training on the rest with `trainFold`. Returns the mean validation
 * CA of each epoch over the folds, the best epoch count, and the whitening alone's mean CA with that epoch's
 * K-means seed.
 */
async function crossValidate(
  species: string[],
  features: (species: string[], average: boolean) => LabeledFeatures,
  seed: number,
  epochs: number,
  trainFold: (train: LabeledFeatures, validation: LabeledFeatures, fold: number, folds: number) => Promise<{ whitening: AdapterWeights; result: TrainResult }>,
): Promise<CrossValidation> {
  const order = shuffledPrefix(species, species.length, seededRandom(deriveSeed(seed, 8)));
  const folds = Math.floor(order.length / 2) >= 2 ? 2 : 1;
  const epochCa = new Array<number>(epochs).fill(0);
  const whiteningByEpoch = new Array<number>(epochs).fill(0);
  for (let fold = 0; fold < folds; fold++) {
    const heldOut = order.slice(2 * fold, 2 * fold + 2);
    const foldValidation = features(heldOut, true);
    const { whitening, result } = await trainFold(features(species.filter((name) => !heldOut.includes(name)), false), foldValidation, fold, folds);
    for (const record of result.history) epochCa[record.epoch - 1]! += record.validationCa / folds;
    for (let epoch = 1; epoch <= epochs; epoch++) whiteningByEpoch[epoch - 1]! += (await validationClusterAccuracy(whitening, foldValidation, deriveSeed(seed, epoch))) / folds;
  }
  const best = epochCa.reduce((top, value, index) => (value > epochCa[top]! ? index : top), 0);
  return { folds, epochCa, whiteningCa: whiteningByEpoch[best]!, epochs: best + 1 };
}

/** The finished last-block stage of a run, as stored until the run ends. */
function encodeBlockResult(history: EpochRecord[], bestEpoch: number | null, best: LastBlockWeights | null): Buffer {
  return packParts({ history: encodeHistory(history), bestEpoch }, best ? { best: BLOCK_CODEC.encode(best) } : {});
}

function decodeBlockResult(buffer: Buffer): { history: EpochRecord[]; bestEpoch: number | null; best: LastBlockWeights | null } {
  const { header, parts } = unpackParts(buffer);
  return { history: decodeHistory(header.history), bestEpoch: header.bestEpoch as number | null, best: parts.best ? BLOCK_CODEC.decode(parts.best) : null };
}
