/**
 * Episodic training of the adapter head (Bjerge et al. 2025, section 3.3, on cached backbone features):
 * SGD with momentum and weight decay, a multi-step learning-rate schedule, and after every epoch K-means
 * on the validation species to keep the epoch with the best cluster accuracy (CA).
 */
import { kmeans, type VectorSet } from '../clustering/kmeans';
import { fastestKernel } from '../clustering/matrix-kernel';
import { clusterAccuracy } from '../metrics/clustering-metrics';
import { readyTf } from '../backbones/tfjs-runtime';
import { type LongWorkOptions, throwIfCancelled, yieldToEventLoop } from '../util/progress';
import { deriveSeed, seededRandom } from '../util/random';
import { gatherRows } from '../util/rows';
import { type AdapterWeights, applyAdapter, featureNormalisation, normaliseRows, transpose } from './adapter';
import { groupByClass, sampleEpisode } from './episodes';
import { episodeLossGradient, kclLoss, makeMatMul, mclLoss } from './losses';
import { type EpochLoopState, restoreArrays, type TrainerState } from './training-state';

/** Which criterion trains the adapter. */
export type TrainingLoss = 'proto' | 'scatter' | 'kcl' | 'mcl';

/** Features with species labels (0..classes-1); `views` are extra augmented copies aligned row by row. */
export interface LabeledFeatures extends VectorSet {
  labels: Int32Array;
  views?: Float32Array[];
}

/** Training settings; defaults follow the paper where it gives them. */
export interface TrainOptions extends LongWorkOptions {
  way?: number;
  shot?: number;
  query?: number;
  tasksPerEpoch?: number;
  epochs?: number;
  /** Weight of the scatter loss in Eq. (3), 0..1; `proto` uses alpha * Lm + (1 - alpha) * Lc. Default 0.1. */
  alpha?: number;
  loss?: TrainingLoss;
  learningRate?: number;
  momentum?: number;
  weightDecay?: number;
  /** Epochs (1-based) after which the learning rate is multiplied by `gamma`. Default [3, 6]. */
  milestones?: number[];
  gamma?: number;
  hiddenDims?: number;
  outputDims?: number;
  /**
   * Residual linear adapter: embedding = x + x W + b, W starting at zero, so training starts from the
   * frozen features and weight decay pulls back towards them. Needs hiddenDims 0; outputDims is the input's.
   */
  residual?: boolean;
  /** Mark the adapter to scale its outputs to unit length (used for validation and clustering; the loss sees raw outputs). */
  normaliseOutput?: boolean;
  /** Size of the cluster head used by KCL and MCL (an over-estimate of the number of species). Default 100. */
  clusterHeadClasses?: number;
  seed?: number;
  onEpoch?: (record: EpochRecord) => void;
  /** A stopped run's state (from `onState`, with the same data and settings): training goes on after its epoch. */
  resume?: TrainerState<AdapterWeights> | undefined;
  /** After each epoch: the whole state, to store so the run can be resumed (see training-state.ts). */
  onState?: ((state: TrainerState<AdapterWeights>) => void | Promise<void>) | undefined;
}

/** What one epoch did. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  /** Query accuracy of the prototypical classifier (proto and scatter losses), else NaN. */
  accuracy: number;
  /** K-means cluster accuracy on the validation species, or NaN without validation data. */
  validationCa: number;
  learningRate: number;
  seconds: number;
}

/** The chosen weights and the training history. */
export interface TrainResult {
  best: AdapterWeights;
  bestEpoch: number;
  history: EpochRecord[];
  seconds: number;
}

function columnSums(matrix: Float32Array, rows: number, columns: number): Float32Array {
  const sums = new Float32Array(columns);
  for (let row = 0; row < rows; row++) for (let column = 0; column < columns; column++) sums[column] = sums[column]! + matrix[row * columns + column]!;
  return sums;
}

/** One step of PyTorch's SGD in place: v = momentum * v + (g + weightDecay * w); w -= rate * v. */
export function sgdStep(values: Float32Array, gradient: Float32Array, velocity: Float32Array, rate: number, momentum: number, weightDecay: number): void {
  for (let index = 0; index < values.length; index++) {
    velocity[index] = momentum * velocity[index]! + gradient[index]! + weightDecay * values[index]!;
    values[index] = values[index]! - rate * velocity[index]!;
  }
}

/** The multi-step schedule: the learning rate times gamma for each milestone epoch already passed. */
export function scheduledRate(learningRate: number, gamma: number, milestones: readonly number[], epoch: number): number {
  return learningRate * gamma ** milestones.filter((milestone) => epoch > milestone).length;
}

/** The episodic schedule's settings that both trainers (adapter and last block) share. */
export interface EpochSchedule extends LongWorkOptions {
  epochs: number;
  tasksPerEpoch: number;
  learningRate: number;
  gamma: number;
  milestones: readonly number[];
  /** Whether validation scores exist (without them the last epoch is kept). */
  validated: boolean;
  /** Progress is reported every this many tasks. */
  progressEvery: number;
  /** The event loop is given a turn every this many tasks. */
  yieldEvery: number;
  /** The progress message's start, e.g. `Epoch` or `Last block: epoch`. */
  label: string;
  onEpoch?: (record: EpochRecord) => void;
}

/** Where `runEpochs` starts and what it reports after each epoch, beyond the schedule. */
export interface EpochLoopOptions<T> {
  /** The snapshot before training, competing as epoch 0. */
  start?: { snapshot: T; validationCa: number } | null;
  /** A stopped run's loop state: the epochs after it are run, as if the loop had never stopped. */
  resume?: EpochLoopState<T> | undefined;
  /** Called after each epoch (awaited before the next task), e.g. to store the run so it can be resumed. */
  afterEpoch?: ((state: EpochLoopState<T>) => void | Promise<void>) | undefined;
}

/**
 * Runs epochs of episodic tasks under the multi-step learning rate: cancellable between tasks, with progress,
 * a diverged loss stopping the run, and after each epoch its snapshot and validation CA; keeps the best epoch
 * (the first of equals; `start` competes as epoch 0). `runTask` samples and trains one task at a learning rate.
 */
export async function runEpochs<T>(
  schedule: EpochSchedule,
  runTask: (rate: number) => Promise<{ loss: number; accuracy: number }>,
  endEpoch: (epoch: number) => Promise<{ snapshot: T; validationCa: number }>,
  { start = null, resume, afterEpoch }: EpochLoopOptions<T> = {},
): Promise<{ best: T; bestEpoch: number; history: EpochRecord[] }> {
  const { epochs, tasksPerEpoch, learningRate, gamma, milestones, signal, onProgress, onEpoch } = schedule;
  const history: EpochRecord[] = [...(resume?.history ?? [])];
  let best: T | null = resume ? resume.best : start ? start.snapshot : null;
  let bestCa = resume ? resume.bestCa : (start?.validationCa ?? -Infinity);
  let bestEpoch = resume?.bestEpoch ?? 0;
  for (let epoch = (resume?.epoch ?? 0) + 1; epoch <= epochs; epoch++) {
    const epochStarted = performance.now();
    const rate = scheduledRate(learningRate, gamma, milestones, epoch);
    let lossSum = 0;
    let accuracySum = 0;
    for (let task = 0; task < tasksPerEpoch; task++) {
      throwIfCancelled(signal);
      const { loss, accuracy } = await runTask(rate);
      if (!Number.isFinite(loss)) throw new Error(`Training diverged at epoch ${epoch} (loss ${loss}). Lower the learning rate (now ${learningRate}).`);
      lossSum += loss;
      accuracySum += accuracy;
      if ((task + 1) % schedule.progressEvery === 0) {
        onProgress?.({
          fraction: (epoch - 1 + (task + 1) / tasksPerEpoch) / epochs,
          message: `${schedule.label} ${epoch} of ${epochs}, task ${task + 1} of ${tasksPerEpoch}, loss ${(lossSum / (task + 1)).toFixed(4)}`,
        });
      }
      if ((task + 1) % schedule.yieldEvery === 0) await yieldToEventLoop();
    }
    const { snapshot, validationCa } = await endEpoch(epoch);
    const record: EpochRecord = {
      epoch,
      loss: lossSum / tasksPerEpoch,
      accuracy: accuracySum / tasksPerEpoch,
      validationCa,
      learningRate: rate,
      seconds: (performance.now() - epochStarted) / 1000,
    };
    history.push(record);
    onEpoch?.(record);
    // Without validation species the last epoch is kept.
    if (!schedule.validated || validationCa > bestCa) {
      best = snapshot;
      bestCa = validationCa;
      bestEpoch = epoch;
    }
    await afterEpoch?.({ epoch, history, best: best!, bestCa, bestEpoch });
  }
  return { best: best!, bestEpoch, history };
}

/** Scores an adapter on validation features: K-means with k = number of species, CA (Eq. 4). */
export async function validationClusterAccuracy(weights: AdapterWeights, validation: LabeledFeatures, seed: number): Promise<number> {
  return scoreClusterAccuracy(await applyAdapter(weights, validation), validation.labels, seed);
}

/**
 * The measure every choice between finished feature maps uses (whitening or adapter, input power, head or
 * last block): validationClusterAccuracy averaged over 3 K-means seeds derived from `seed` (500, 501, 502).
 */
export async function meanValidationCa(weights: AdapterWeights, validation: LabeledFeatures, seed: number): Promise<number> {
  let sum = 0;
  for (let trial = 0; trial < 3; trial++) sum += await validationClusterAccuracy(weights, validation, deriveSeed(seed, 500 + trial));
  return sum / 3;
}

/** K-means (3 restarts) with k = number of species on embedded vectors, scored by cluster accuracy (Eq. 4). */
export async function scoreClusterAccuracy(embedded: VectorSet, labels: Int32Array, seed: number): Promise<number> {
  const result = await kmeans(embedded, { k: new Set(labels).size, seed, restarts: 3 });
  return clusterAccuracy(Array.from(labels), Array.from(result.labels));
}

/**
 * Trains an adapter with episodes drawn from `train`, selecting the epoch by validation CA.
 *
 * const { best, history } = await trainAdapter(trainFeatures, validationFeatures, { epochs: 9, alpha: 0.1 })
 * // history: [{ epoch: 1, loss: 1.9, accuracy: 0.55, validationCa: 0.61, learningRate: 0.01, seconds: 12 }, ...]
 */
export async function trainAdapter(train: LabeledFeatures, validation: LabeledFeatures | null, options: TrainOptions = {}): Promise<TrainResult> {
  const {
    way = 30,
    shot = 5,
    query = 6,
    tasksPerEpoch = 300,
    epochs = 9,
    alpha = 0.1,
    loss: lossKind = 'proto',
    learningRate = 0.01,
    momentum = 0.9,
    weightDecay = 5e-4,
    milestones = [3, 6],
    gamma = 0.1,
    hiddenDims = 1024,
    outputDims = 256,
    clusterHeadClasses = 100,
    residual = false,
    normaliseOutput = false,
    seed = 0,
    signal,
    onProgress,
    onEpoch,
  } = options;
  if (alpha < 0 || alpha > 1) throw new Error(`alpha must be between 0 and 1, not ${alpha}.`);
  const started = performance.now();
  const { tf } = await readyTf();
  const kernel = await fastestKernel();
  const matMul = makeMatMul(tf);
  let random = seededRandom(deriveSeed(seed, 1000));
  const rowsByClass = groupByClass(train.labels);
  const { mean, scale } = featureNormalisation(train);
  const views = [train.data, ...(train.views ?? [])].map((view) => normaliseRows(view, train.count, train.dims, mean, scale));
  const inputDims = train.dims;
  const pairwise = lossKind === 'kcl' || lossKind === 'mcl';

  // He initialisation for the ReLU layer, Glorot for the output, from the seeded source.
  // hiddenDims 0 makes the adapter one linear map (less prone to overfit few species).
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const init = (length: number, std: number) => Float32Array.from({ length }, () => gaussian() * std);
  if (residual && hiddenDims !== 0) throw new Error('A residual adapter is linear: set hiddenDims to 0.');
  const linear = hiddenDims === 0;
  const embeddingDims = residual ? inputDims : outputDims;
  const firstWidth = linear ? embeddingDims : hiddenDims;
  const parameters: Record<string, Float32Array> = {
    w1: residual ? new Float32Array(inputDims * firstWidth) : init(inputDims * firstWidth, Math.sqrt((linear ? 1 : 2) / inputDims)),
    b1: new Float32Array(firstWidth),
    w2: linear ? new Float32Array(0) : init(hiddenDims * outputDims, Math.sqrt(2 / (hiddenDims + outputDims))),
    b2: linear ? new Float32Array(0) : new Float32Array(outputDims),
    wc: pairwise ? init(embeddingDims * clusterHeadClasses, Math.sqrt(1 / embeddingDims)) : new Float32Array(0),
    bc: pairwise ? new Float32Array(clusterHeadClasses) : new Float32Array(0),
  };
  const velocities: Record<string, Float32Array> = Object.fromEntries(
    Object.entries(parameters).map(([name, values]) => [name, new Float32Array(values.length)]),
  );
  const { resume, onState } = options;
  if (resume) {
    restoreArrays(parameters, resume.parameters);
    restoreArrays(velocities, resume.velocities);
    random = seededRandom(resume.random);
  }
  const snapshot = (): AdapterWeights => ({
    inputDims,
    hiddenDims,
    outputDims: embeddingDims,
    residual,
    normaliseOutput,
    inputMean: mean,
    inputScale: scale,
    w1: Float32Array.from(parameters.w1!),
    b1: Float32Array.from(parameters.b1!),
    w2: Float32Array.from(parameters.w2!),
    b2: Float32Array.from(parameters.b2!),
  });

  // The loss and its gradient with respect to the embeddings (and the small cluster head) come from TF.js
  // autodiff on small matrices; the large products of the adapter run on the fast matrix kernel.
  const lossAndGradients = (
    embeddings: Float32Array,
    rows: number,
    way: number,
    classes: number[],
  ): { loss: number; accuracy: number; embeddingGradient: Float32Array; headGradients: Float32Array[] } => {
    if (!pairwise) {
      const result = episodeLossGradient(tf, matMul, embeddings, embeddingDims, { way, shot, query }, alpha, lossKind as 'proto' | 'scatter');
      return { loss: result.loss, accuracy: result.accuracy, embeddingGradient: result.gradient, headGradients: [] };
    }
    // The pairwise criteria also train the small cluster head.
    const tensors = tf.tidy(() => {
      const z = tf.tensor2d(embeddings, [rows, embeddingDims]);
      const head = tf.tensor2d(parameters.wc!, [embeddingDims, clusterHeadClasses]);
      const bias = tf.tensor1d(parameters.bc!);
      const { value, grads } = tf.valueAndGrads((embedded: import('@tensorflow/tfjs').Tensor, headWeights: import('@tensorflow/tfjs').Tensor, headBias: import('@tensorflow/tfjs').Tensor) => {
        const logits = tf.add(matMul(embedded as import('@tensorflow/tfjs').Tensor2D, headWeights as import('@tensorflow/tfjs').Tensor2D), headBias) as import('@tensorflow/tfjs').Tensor2D;
        return (lossKind === 'kcl' ? kclLoss(tf, matMul, logits, classes) : mclLoss(tf, matMul, logits, classes)) as import('@tensorflow/tfjs').Scalar;
      })([z, head, bias]);
      return [value, ...grads];
    });
    const [value, ...gradients] = tensors.map((tensor) => tensor.dataSync() as Float32Array);
    tf.dispose(tensors);
    return { loss: value![0]!, accuracy: Number.NaN, embeddingGradient: gradients[0]!, headGradients: gradients.slice(1) };
  };

  const w1Transposed = () => transpose(parameters.w1!, inputDims, firstWidth);
  const w2Transposed = () => transpose(parameters.w2!, hiddenDims, outputDims);
  const step = (name: string, gradient: Float32Array, rate: number) => sgdStep(parameters[name]!, gradient, velocities[name]!, rate, momentum, weightDecay);

  const { best, bestEpoch, history } = await runEpochs(
    { epochs, tasksPerEpoch, learningRate, gamma, milestones, validated: validation !== null, progressEvery: 10, yieldEvery: 10, label: 'Epoch', signal, onProgress, onEpoch },
    async (rate) => {
      const episode = sampleEpisode(rowsByClass, { way, shot, query }, random);
      const rowsList = [...episode.support, ...episode.query];
      const rows = rowsList.length;
      // Augmentation: each row comes from a randomly chosen view (original or, e.g., mirrored).
      const input = new Float32Array(rows * inputDims);
      rowsList.forEach((row, index) => {
        const view = views[Math.floor(random() * views.length)]!;
        input.set(view.subarray(row * inputDims, (row + 1) * inputDims), index * inputDims);
      });
      const classes = [
        ...Array.from({ length: episode.way * shot }, (_, index) => Math.floor(index / shot)),
        ...Array.from({ length: episode.way * query }, (_, index) => Math.floor(index / query)),
      ];
      // Forward.
      const first = await kernel.multiplyTransposed(input, rows, w1Transposed(), firstWidth, inputDims);
      for (let index = 0; index < first.length; index++) first[index] = first[index]! + parameters.b1![index % firstWidth]!;
      let hidden: Float32Array | null = null;
      let embeddings = first;
      if (residual) embeddings = first.map((value, index) => value + input[index]!);
      if (!linear) {
        hidden = first.map((value) => Math.max(0, value));
        embeddings = await kernel.multiplyTransposed(hidden, rows, w2Transposed(), outputDims, hiddenDims);
        for (let index = 0; index < embeddings.length; index++) embeddings[index] = embeddings[index]! + parameters.b2![index % outputDims]!;
      }
      const result = lossAndGradients(embeddings, rows, episode.way, classes);
      // Backward: dW = input^T x dZ as a product of transposes on the kernel.
      const gradientOut = result.embeddingGradient;
      let gradientFirst = gradientOut;
      if (!linear) {
        step('w2', await kernel.multiplyTransposed(transpose(hidden!, rows, hiddenDims), hiddenDims, transpose(gradientOut, rows, outputDims), outputDims, rows), rate);
        step('b2', columnSums(gradientOut, rows, outputDims), rate);
        gradientFirst = await kernel.multiplyTransposed(gradientOut, rows, parameters.w2!, hiddenDims, outputDims);
        for (let index = 0; index < gradientFirst.length; index++) if (first[index]! <= 0) gradientFirst[index] = 0;
      }
      step('w1', await kernel.multiplyTransposed(transpose(input, rows, inputDims), inputDims, transpose(gradientFirst, rows, firstWidth), firstWidth, rows), rate);
      step('b1', columnSums(gradientFirst, rows, firstWidth), rate);
      if (pairwise) {
        step('wc', result.headGradients[0]!, rate);
        step('bc', result.headGradients[1]!, rate);
      }
      return result;
    },
    async (epoch) => {
      const weights = snapshot();
      return { snapshot: weights, validationCa: validation ? await validationClusterAccuracy(weights, validation, deriveSeed(seed, epoch)) : Number.NaN };
    },
    { resume: resume?.loop, afterEpoch: onState && ((loop: EpochLoopState<AdapterWeights>) => onState({ loop, parameters, velocities, random: random.state })) },
  );
  return { best, bestEpoch, history, seconds: (performance.now() - started) / 1000 };
}
