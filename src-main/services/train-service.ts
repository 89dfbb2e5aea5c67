/**
 * Fine-tunes a project's embedding space on the species the user labeled: within-class whitening fitted in
 * closed form, then episodic training of the adapter head over the whitened backbone features (averaged
 * over the project's input sizes, `embedding.scales`; mirrored views as augmentation), validation species held out automatically, the checkpoint stored in the project
 * and made active for clustering.
 */
import { type AdapterWeights, encodeAdapter } from '../core/training/adapter';
import { shuffledPrefix } from '../core/training/episodes';
import { type EpochRecord, type LabeledFeatures, type TrainOptions, trainAdapter, validationClusterAccuracy } from '../core/training/trainer';
import { fitWithinClassWhitening, mapLabeledFeatures } from '../core/training/whitening';
import type { Progress } from '../core/util/progress';
import { deriveSeed, seededRandom } from '../core/util/random';
import { ACTIVE_CHECKPOINT_SETTING, adapterModelId, embedScales, multiScaleId, prepareEmbeddings, projectScales, scaleAveragedViews, scaleBackbones } from './embedding-space';
import type { Project } from './project';
import { gatherRows } from '../core/util/rows';

/** What can be trained: only the adapter head runs on a CPU-only machine today. */
export type Trainable = 'head' | 'last-blocks' | 'all';

/** Project training settings. */
export interface ProjectTrainOptions extends TrainOptions {
  trainable?: Trainable;
}

/** What training produced. */
export interface ProjectTrainResult {
  checkpointId: number;
  embeddingModelId: string;
  trainSpecies: string[];
  validationSpecies: string[];
  bestEpoch: number;
  history: EpochRecord[];
  seconds: number;
}

/** Trains, stores the checkpoint, activates it and re-embeds the project with it. */
export async function trainProject(project: Project, options: ProjectTrainOptions = {}): Promise<ProjectTrainResult> {
  const { trainable = 'head', shot = 5, query = 6, seed = 0, signal } = options;
  const onProgress = options.onProgress ?? ((_progress: Progress) => {});
  if (trainable !== 'head') {
    throw new Error(
      `Training "${trainable}" needs backbone gradients, which this version runs only for the adapter head. Use --trainable head.`,
    );
  }
  // The features clustering uses: averaged over the project's input sizes (`embedding.scales`), mirrored views kept apart as augmentation.
  const backbones = await scaleBackbones(project, projectScales(project.store));
  const featuresId = multiScaleId(backbones);
  await embedScales(project.store, backbones, {
    signal,
    withMirror: true,
    onProgress: (progress) => onProgress({ fraction: 0.2 * progress.fraction, message: progress.message }),
  });
  const views = scaleAveragedViews(project.store, backbones.map((backbone) => backbone.id));
  const rowOf = new Map(views.imageIds.map((id, row) => [id, row]));
  const bySpecies = new Map<string, number[]>();
  for (const { imageId, species } of project.store.labeledImages()) {
    if (!rowOf.has(imageId)) continue;
    let list = bySpecies.get(species);
    if (!list) bySpecies.set(species, (list = []));
    list.push(imageId);
  }
  const eligible = [...bySpecies].filter(([, images]) => images.length >= shot + query).map(([species]) => species).sort();
  if (eligible.length < 2) {
    throw new Error(
      `Training needs at least 2 species with ${shot + query} or more labeled images each; ${eligible.length} have enough. Label more images (or lower shot and query).`,
    );
  }
  // Hold out about a fifth of the species (at least 2) for choosing the epoch, when there are enough.
  const random = seededRandom(deriveSeed(seed, 7));
  const shuffled = shuffledPrefix(eligible, eligible.length, random);
  const validationCount = eligible.length >= 6 ? Math.max(2, Math.round(eligible.length / 5)) : 0;
  const validationSpecies = shuffled.slice(0, validationCount).sort();
  const trainSpecies = shuffled.slice(validationCount).sort();
  const dims = views.dims;
  const features = (species: string[], average: boolean): LabeledFeatures => {
    const images = species.flatMap((name, label) => bySpecies.get(name)!.map((imageId) => ({ imageId, label })));
    const rows = images.map(({ imageId }) => rowOf.get(imageId)!);
    const data = gatherRows(views.plain, dims, rows);
    const mirrored = gatherRows(views.mirrored, dims, rows);
    if (average) for (let index = 0; index < data.length; index++) data[index] = (data[index]! + mirrored[index]!) / 2;
    return { data, count: images.length, dims, labels: Int32Array.from(images.map((image) => image.label)), views: average ? [] : [mirrored] };
  };
  const train = features(trainSpecies, false);
  const validation = validationCount > 0 ? features(validationSpecies, true) : null;
  // Within-class whitening fitted on the training species (closed form, see whitening.ts), then the
  // episodic adapter over the whitened features: residual, so it starts from the whitening alone.
  const whitening = await fitWithinClassWhitening(train);
  const settings: TrainOptions = { hiddenDims: 0, outputDims: 256, learningRate: 1e-3, ...options };
  const result = await trainAdapter(await mapLabeledFeatures(whitening, train), validation ? await mapLabeledFeatures(whitening, validation) : null, {
    ...settings,
    residual: settings.hiddenDims === 0,
    normaliseOutput: true,
    signal,
    onProgress: (progress) => onProgress({ fraction: 0.1 + 0.8 * progress.fraction, message: progress.message }),
  });
  // Keep the adapter only when it clusters the validation species better than the whitening alone
  // (mean K-means CA over 3 seeds), as the paper benchmark decides.
  const trained: AdapterWeights = { ...result.best, before: whitening };
  let weights = trained;
  if (validation) {
    const score = async (candidate: AdapterWeights) => {
      let sum = 0;
      for (let trial = 0; trial < 3; trial++) sum += await validationClusterAccuracy(candidate, validation, deriveSeed(seed, 500 + trial));
      return sum / 3;
    };
    if ((await score(whitening)) >= (await score(trained))) weights = whitening;
  }
  const { onProgress: _progress, onEpoch: _epoch, signal: _signal, ...stored } = settings;
  const checkpointId = project.store.saveCheckpoint({
    modelId: featuresId,
    options: { ...stored, trainSpecies, validationSpecies, inputSizes: backbones.map((backbone) => backbone.preprocessing.size) },
    history: result.history,
    bestEpoch: result.bestEpoch,
    weights: encodeAdapter(weights),
  });
  project.store.setSetting(ACTIVE_CHECKPOINT_SETTING, String(checkpointId));
  onProgress({ fraction: 0.95, message: 'Re-embedding every image with the fine-tuned adapter' });
  await prepareEmbeddings(project, { signal });
  onProgress({ fraction: 1, message: `Trained in ${result.seconds.toFixed(1)} s; best epoch ${result.bestEpoch}` });
  return {
    checkpointId,
    embeddingModelId: adapterModelId(featuresId, checkpointId),
    trainSpecies,
    validationSpecies,
    bestEpoch: result.bestEpoch,
    history: result.history,
    seconds: result.seconds,
  };
}
