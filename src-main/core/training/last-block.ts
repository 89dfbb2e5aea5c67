/**
 * Episodic fine-tuning of the backbone's last block (issue #4 (b)) over cached activations below it: the
 * block's input maps are embedded once (`lastBlock: 'input'` backbones), so each training step runs only the
 * block, a 1x1 convolution with batch normalisation folded in, its activation and the global average pool
 * (MobileNetV2's `Conv_1`, 112 -> 1280 channels, 145k weights), forward and backward as matrix products.
 *
 * Scale augmentation as in the paper: each task draws one of the cached input sizes; flip augmentation:
 * each image its plain or mirrored view. The loss is Eq. (3) on the block's features, normalised by the
 * frozen training features' mean and scale, or mapped by a fixed `lossSpace` (the benchmark and the app use
 * the within-class whitening fitted on the pretrained block's features). After every epoch K-means on the
 * validation species (features averaged over sizes and views, as clustering sees them) keeps the epoch with
 * the best cluster accuracy.
 */
import type { LastBlockWeights } from '../backbones/tfjs-to-onnx';
import { readyTf } from '../backbones/tfjs-runtime';
import type { VectorSet } from '../clustering/kmeans';
import { buildGraphModel, fastestKernel, type GraphNode, type MatrixKernel, ONNX_BOOL, ONNX_FLOAT, ONNX_INT64 } from '../clustering/matrix-kernel';
import { yieldToEventLoop } from '../util/progress';
import { deriveSeed, seededRandom } from '../util/random';
import { type AdapterWeights, applyAdapter, featureNormalisation } from './adapter';
import { groupByClass, sampleEpisode } from './episodes';
import { episodeLossGradient, makeMatMul } from './losses';
import { type EpochRecord, type LabeledFeatures, runEpochs, scoreClusterAccuracy, sgdStep, type TrainOptions } from './trainer';
import { type EpochLoopState, restoreArrays, type TrainerState } from './training-state';

/** One input size's block-input maps: `count` images x channels x positions (NCHW, flattened per image). */
export interface BlockInputScale {
  /** Height x width of the map at this input size (49 at 224 px for MobileNetV2). */
  positions: number;
  plain: Float32Array;
  /** The mirrored photo's maps, aligned with `plain`. */
  mirrored: Float32Array;
}

/** Cached block inputs of some images at every input size, with species labels (0..classes-1) for training. */
export interface BlockInputs {
  count: number;
  channels: number;
  scales: BlockInputScale[];
  labels: Int32Array;
}

/** Settings of last-block training: the adapter trainer's episodic ones (same defaults), with the episode losses only. */
export interface LastBlockTrainOptions
  extends Pick<
    TrainOptions,
    'way' | 'shot' | 'query' | 'tasksPerEpoch' | 'epochs' | 'alpha' | 'learningRate' | 'momentum' | 'weightDecay' | 'milestones' | 'gamma' | 'seed' | 'onEpoch' | 'signal' | 'onProgress'
  > {
  loss?: 'proto' | 'scatter';
  /**
   * Measure the loss after this fixed linear map (an adapter with hiddenDims 0, e.g. the within-class whitening
   * fitted on the pretrained block's training features; its unit-length output scaling is not applied), so
   * the block learns what clustering through that map sees; validation clusters through it too (with the
   * scaling). No input power: its gradient is unbounded near the zero features that ReLU6 pooling gives.
   * Default: the features centred and scaled. On EU Moths the whitened loss gave whitened
   * validation CA 0.760 against 0.742 (0.748 pretrained).
   */
  lossSpace?: AdapterWeights;
  /** Run the block with products on this kernel and loops in JavaScript (tests) instead of the onnxruntime graphs. */
  kernel?: MatrixKernel;
  /** A stopped run's state (from `onState`, with the same inputs and settings): training goes on after its epoch. */
  resume?: TrainerState<LastBlockWeights> | undefined;
  /** After each epoch: the whole state, to store so the run can be resumed (see training-state.ts). */
  onState?: ((state: TrainerState<LastBlockWeights>) => void | Promise<void>) | undefined;
}

/** How the block runs: the onnxruntime graphs, or a matrix kernel with loops in JavaScript. */
type BlockEngine = { runtime: BlockRuntime } | { kernel: MatrixKernel };

async function blockEngine(kernel?: MatrixKernel): Promise<BlockEngine> {
  if (kernel) return { kernel };
  try {
    return { runtime: await onnxBlockRuntime() };
  } catch {
    return { kernel: await fastestKernel() };
  }
}

/** The chosen block weights, the epoch they come from (0: the pretrained ones) and the history. */
export interface LastBlockTrainResult {
  best: LastBlockWeights;
  bestEpoch: number;
  /** Validation cluster accuracy of the pretrained block (NaN without validation data). */
  initialValidationCa: number;
  history: EpochRecord[];
  seconds: number;
}

/** Images per forward product chunk so one pre-activation buffer stays near 16 M floats. */
function imagesPerChunk(block: LastBlockWeights, positions: number): number {
  return Math.max(1, Math.floor((1 << 24) / (block.outputs * positions)));
}

function activate(value: number, kind: LastBlockWeights['activation']): number {
  if (kind === 'linear') return value;
  const positive = value > 0 ? value : 0;
  return kind === 'relu6' && positive > 6 ? 6 : positive;
}

/**
 * Whether the activation passes gradient at a pre-activation value. (The onnxruntime graph's mask also passes
 * at exactly 0 and 6, where the clip is not differentiable; the two agree everywhere else.)
 */
function passes(value: number, kind: LastBlockWeights['activation']): boolean {
  if (kind === 'linear') return true;
  return value > 0 && (kind === 'relu' || value < 6);
}

/**
 * Gathers images' maps as the two layouts the products need: rows (positions of all images) x channels, and
 * channels x rows. `mapsOf(index)` is the array (count x channels x positions) holding image `images[index]`.
 */
function gatherMaps(mapsOf: (index: number) => Float32Array, channels: number, positions: number, images: ArrayLike<number>): { rows: Float32Array; columns: Float32Array } {
  const count = images.length;
  const total = count * positions;
  const rows = new Float32Array(total * channels);
  const columns = new Float32Array(channels * total);
  for (let index = 0; index < count; index++) {
    const maps = mapsOf(index);
    const base = images[index]! * channels * positions;
    for (let channel = 0; channel < channels; channel++) {
      const source = base + channel * positions;
      columns.set(maps.subarray(source, source + positions), channel * total + index * positions);
      for (let position = 0; position < positions; position++) rows[(index * positions + position) * channels + channel] = maps[source + position]!;
    }
  }
  return { rows, columns };
}

/**
 * The block's pre-activations for gathered rows, output-major: [outputs, rows] (bias added), so the pooling
 * and the backward pass walk each output's positions contiguously.
 */
async function preActivations(block: LastBlockWeights, rows: Float32Array, total: number, kernel: MatrixKernel): Promise<Float32Array> {
  const products = await kernel.multiplyTransposed(block.weight, block.outputs, rows, total, block.inputs);
  for (let output = 0; output < block.outputs; output++) {
    const bias = block.bias[output]!;
    for (let index = output * total; index < (output + 1) * total; index++) products[index] = products[index]! + bias;
  }
  return products;
}

/** Pools output-major pre-activations into count x outputs features (mean of the activated positions), adding `weight` x each into `into`. */
function poolInto(into: Float32Array, offset: number, z: Float32Array, block: LastBlockWeights, count: number, positions: number, weight: number): void {
  const total = count * positions;
  const scale = weight / positions;
  for (let output = 0; output < block.outputs; output++) {
    for (let index = 0; index < count; index++) {
      let sum = 0;
      const start = output * total + index * positions;
      for (let position = start; position < start + positions; position++) sum += activate(z[position]!, block.activation);
      into[(offset + index) * block.outputs + output]! += sum * scale;
    }
  }
}

/**
 * Labeled training features through the block: the plain photos' features, the mirrored ones as a second
 * view (as whitening and episodic training take them), each averaged over the input sizes.
 *
 * await labeledBlockFeatures(block, trainMaps) // { data, count, dims: 1280, labels: trainMaps.labels, views: [mirrored] }
 */
export async function labeledBlockFeatures(block: LastBlockWeights, inputs: BlockInputs, kernel?: MatrixKernel): Promise<LabeledFeatures> {
  const mirrored = await lastBlockFeatures(block, inputs, 'mirrored', kernel);
  return { ...(await lastBlockFeatures(block, inputs, 'plain', kernel)), labels: inputs.labels, views: [mirrored.data] };
}

/**
 * Pooled features of every image through the block, averaged over the input sizes; `views` 'average' also
 * averages the plain and mirrored photo (test-time augmentation, as clustering uses them).
 *
 * await lastBlockFeatures(block, inputs, 'average') // { data: Float32Array(count * 1280), count, dims: 1280 }
 */
export async function lastBlockFeatures(
  block: LastBlockWeights,
  inputs: Omit<BlockInputs, 'labels'>,
  views: 'plain' | 'mirrored' | 'average',
  kernel?: MatrixKernel,
): Promise<VectorSet> {
  const engine = await blockEngine(kernel);
  const { count, channels } = inputs;
  const out = new Float32Array(count * block.outputs);
  const chosen = views === 'average' ? (['plain', 'mirrored'] as const) : ([views] as const);
  const weight = 1 / (inputs.scales.length * chosen.length);
  for (const scale of inputs.scales) {
    const chunk = imagesPerChunk(block, scale.positions);
    for (const view of chosen) {
      for (let start = 0; start < count; start += chunk) {
        const length = Math.min(chunk, count - start);
        if ('runtime' in engine) {
          const span = channels * scale.positions;
          const { features } = await engine.runtime.forward(block, scale[view].subarray(start * span, (start + length) * span), length, scale.positions, false);
          for (let index = 0; index < features.length; index++) out[start * block.outputs + index]! += features[index]! * weight;
        } else {
          const images = Array.from({ length }, (_, index) => start + index);
          const { rows } = gatherMaps(() => scale[view], channels, scale.positions, images);
          const z = await preActivations(block, rows, length * scale.positions, engine.kernel);
          poolInto(out, start, z, block, length, scale.positions, weight);
        }
        await yieldToEventLoop();
      }
    }
  }
  return { data: out, count, dims: block.outputs };
}

/**
 * One batch through the block and back: gathered maps in both layouts (see `gatherMaps`) -> pooled features
 * (count x outputs) -> `lossOf`, which returns the loss and its gradient with respect to those features ->
 * the gradients of the block's weight ([outputs, inputs]) and bias.
 */
export async function blockGradient(
  block: LastBlockWeights,
  rows: Float32Array,
  columns: Float32Array,
  count: number,
  positions: number,
  kernel: MatrixKernel,
  lossOf: (features: Float32Array) => { loss: number; accuracy: number; gradient: Float32Array },
): Promise<{ loss: number; accuracy: number; weightGradient: Float32Array; biasGradient: Float32Array }> {
  const { outputs, inputs } = block;
  const total = count * positions;
  const z = await preActivations(block, rows, total, kernel);
  const features = new Float32Array(count * outputs);
  poolInto(features, 0, z, block, count, positions, 1);
  const { loss, accuracy, gradient } = lossOf(features);
  // The pooled gradient spread over each image's positions where the activation passes, in place of z.
  const biasGradient = new Float32Array(outputs);
  for (let output = 0; output < outputs; output++) {
    let sum = 0;
    for (let index = 0; index < count; index++) {
      const share = gradient[index * outputs + output]! / positions;
      const start = output * total + index * positions;
      for (let position = start; position < start + positions; position++) {
        const value = passes(z[position]!, block.activation) ? share : 0;
        z[position] = value;
        sum += value;
      }
    }
    biasGradient[output] = sum;
  }
  // dW [outputs, inputs] = dZ [outputs, rows] x maps [rows, inputs]: the rows are contracted.
  const weightGradient = await kernel.multiplyTransposed(z, outputs, columns, inputs, total);
  return { loss, accuracy, weightGradient, biasGradient };
}

/**
 * Gathers `images` from one array of maps (count x channels x positions) in both layouts; for tests and
 * callers that batch images themselves.
 */
export function gatherBlockInputs(maps: Float32Array, channels: number, positions: number, images: ArrayLike<number>): { rows: Float32Array; columns: Float32Array } {
  return gatherMaps(() => maps, channels, positions, images);
}

/**
 * The block's forward and backward passes as onnxruntime graphs over the cached NCHW maps [n, channels,
 * positions]: no transposes or per-element loops in JavaScript, and the activation mask goes from the forward
 * to the backward graph as booleans instead of recomputing the product (measured 2x faster than products on
 * the matrix kernel with the loops in JavaScript).
 */
export interface BlockRuntime {
  /** Pooled features [n, outputs]; with `withMask`, also where the activation passes gradient, [n, positions, outputs]. */
  forward(block: LastBlockWeights, maps: Float32Array, count: number, positions: number, withMask: boolean): Promise<{ features: Float32Array; mask: Uint8Array | null }>;
  /** Weight [outputs, inputs] and bias gradients from the features' gradient [n, outputs] and the forward mask. */
  backward(block: LastBlockWeights, maps: Float32Array, count: number, positions: number, mask: Uint8Array, featureGradient: Float32Array): Promise<{ weightGradient: Float32Array; biasGradient: Float32Array }>;
}

const FORWARD_NODES: GraphNode[] = [
  { op: 'Transpose', inputs: ['maps'], outputs: ['rows'], attributes: { perm: [0, 2, 1] } },
  { op: 'Transpose', inputs: ['weight'], outputs: ['weight_t'], attributes: { perm: [1, 0] } },
  { op: 'MatMul', inputs: ['rows', 'weight_t'], outputs: ['products'] },
  { op: 'Add', inputs: ['products', 'bias'], outputs: ['z'] },
  { op: 'Clip', inputs: ['z', 'low', 'high'], outputs: ['activated'] },
  { op: 'ReduceMean', inputs: ['activated'], outputs: ['features'], attributes: { axes: [1], keepdims: 0 } },
];
const FORWARD_INPUTS: [string, number, string[]][] = [
  ['maps', ONNX_FLOAT, ['n', 'c', 'p']],
  ['weight', ONNX_FLOAT, ['o', 'c']],
  ['bias', ONNX_FLOAT, ['o']],
  ['low', ONNX_FLOAT, []],
  ['high', ONNX_FLOAT, []],
];

let runtimeLoading: Promise<BlockRuntime> | undefined;

/** The onnxruntime block passes (loaded once). */
export function onnxBlockRuntime(): Promise<BlockRuntime> {
  runtimeLoading ??= (async () => {
    const ort = await import('onnxruntime-node');
    const { availableParallelism } = await import('node:os');
    const options = { intraOpNumThreads: availableParallelism(), interOpNumThreads: 1, graphOptimizationLevel: 'all' as const };
    const features = await ort.InferenceSession.create(
      buildGraphModel('block_features', FORWARD_NODES, FORWARD_INPUTS, [['features', ONNX_FLOAT, ['n', 'o']]]),
      options,
    );
    const forward = await ort.InferenceSession.create(
      buildGraphModel(
        'block_forward',
        [
          ...FORWARD_NODES,
          // The activation passes gradient where it did not clip: one comparison instead of two and an And.
          { op: 'Equal', inputs: ['activated', 'z'], outputs: ['mask'] },
        ],
        FORWARD_INPUTS,
        [['features', ONNX_FLOAT, ['n', 'o']], ['mask', ONNX_BOOL, ['n', 'p', 'o']]],
      ),
      options,
    );
    const backward = await ort.InferenceSession.create(
      buildGraphModel(
        'block_backward',
        [
          { op: 'Where', inputs: ['mask', 'gradient', 'zero'], outputs: ['spread'] },
          { op: 'ReduceSum', inputs: ['spread', 'sum_axes'], outputs: ['bias_gradient'], attributes: { keepdims: 0 } },
          { op: 'Reshape', inputs: ['spread', 'spread_shape'], outputs: ['spread_rows'] },
          { op: 'Transpose', inputs: ['maps'], outputs: ['rows'], attributes: { perm: [0, 2, 1] } },
          { op: 'Reshape', inputs: ['rows', 'rows_shape'], outputs: ['map_rows'] },
          { op: 'Gemm', inputs: ['spread_rows', 'map_rows'], outputs: ['weight_gradient'], attributes: { transA: 1 } },
        ],
        [
          ['maps', ONNX_FLOAT, ['n', 'c', 'p']],
          ['mask', ONNX_BOOL, ['n', 'p', 'o']],
          ['gradient', ONNX_FLOAT, ['n', 'one', 'o']],
          ['zero', ONNX_FLOAT, []],
          ['sum_axes', ONNX_INT64, ['two']],
          ['spread_shape', ONNX_INT64, ['two']],
          ['rows_shape', ONNX_INT64, ['two']],
        ],
        [['weight_gradient', ONNX_FLOAT, ['o', 'c']], ['bias_gradient', ONNX_FLOAT, ['o']]],
      ),
      options,
    );
    const bounds = (block: LastBlockWeights) => ({
      low: new ort.Tensor('float32', Float32Array.of(block.activation === 'linear' ? -Infinity : 0), []),
      high: new ort.Tensor('float32', Float32Array.of(block.activation === 'relu6' ? 6 : Infinity), []),
    });
    const feeds = (block: LastBlockWeights, maps: Float32Array, count: number, positions: number) => ({
      maps: new ort.Tensor('float32', maps.subarray(0, count * block.inputs * positions), [count, block.inputs, positions]),
      weight: new ort.Tensor('float32', block.weight, [block.outputs, block.inputs]),
      bias: new ort.Tensor('float32', block.bias, [block.outputs]),
      ...bounds(block),
    });
    const int64 = (values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), [values.length]);
    return {
      async forward(block, maps, count, positions, withMask) {
        const session = withMask ? forward : features;
        const result = await session.run(feeds(block, maps, count, positions));
        return {
          features: result.features!.data as Float32Array,
          mask: withMask ? (result.mask!.data as Uint8Array) : null,
        };
      },
      async backward(block, maps, count, positions, mask, featureGradient) {
        const result = await backward.run({
          maps: new ort.Tensor('float32', maps.subarray(0, count * block.inputs * positions), [count, block.inputs, positions]),
          mask: new ort.Tensor('bool', mask, [count, positions, block.outputs]),
          gradient: new ort.Tensor('float32', featureGradient.map((value) => value / positions), [count, 1, block.outputs]),
          zero: new ort.Tensor('float32', Float32Array.of(0), []),
          sum_axes: int64([0, 1]),
          spread_shape: int64([count * positions, block.outputs]),
          rows_shape: int64([count * positions, block.inputs]),
        });
        return { weightGradient: result.weight_gradient!.data as Float32Array, biasGradient: result.bias_gradient!.data as Float32Array };
      },
    };
  })();
  return runtimeLoading;
}

/** Copies the images' maps (count x channels x positions each) into one batch, in the given order. */
function gatherImageMaps(mapsOf: (index: number) => Float32Array, channels: number, positions: number, images: ArrayLike<number>): Float32Array {
  const span = channels * positions;
  const batch = new Float32Array(images.length * span);
  for (let index = 0; index < images.length; index++) {
    const start = images[index]! * span;
    batch.set(mapsOf(index).subarray(start, start + span), index * span);
  }
  return batch;
}

/** A copy of block weights. */
function copyBlock(block: LastBlockWeights): LastBlockWeights {
  return { ...block, weight: Float32Array.from(block.weight), bias: Float32Array.from(block.bias) };
}

/**
 * Fine-tunes the last block with episodes drawn from `train`, keeping the epoch (or the pretrained block,
 * epoch 0) with the best validation cluster accuracy.
 *
 * const { best, bestEpoch } = await trainLastBlock(findLastBlock(artifacts), trainInputs, validationInputs, { epochs: 9 })
 */
export async function trainLastBlock(
  pretrained: LastBlockWeights,
  train: BlockInputs,
  validation: BlockInputs | null,
  options: LastBlockTrainOptions = {},
): Promise<LastBlockTrainResult> {
  const {
    way = 30,
    shot = 5,
    query = 6,
    tasksPerEpoch = 300,
    epochs = 9,
    alpha = 0.1,
    loss = 'proto',
    learningRate = 1e-3,
    momentum = 0.9,
    weightDecay = 5e-4,
    milestones = [3, 6],
    gamma = 0.1,
    seed = 0,
    signal,
    onProgress,
    onEpoch,
  } = options;
  if (alpha < 0 || alpha > 1) throw new Error(`alpha must be between 0 and 1, not ${alpha}.`);
  if (train.channels !== pretrained.inputs) throw new Error(`The cached maps have ${train.channels} channels; the block reads ${pretrained.inputs}.`);
  const started = performance.now();
  const { tf } = await readyTf();
  const engine = await blockEngine(options.kernel);
  const matMul = makeMatMul(tf);
  const { resume, onState } = options;
  const random = seededRandom(resume ? resume.random : deriveSeed(seed, 2000));
  const rowsByClass = groupByClass(train.labels);
  const block = copyBlock(pretrained);
  const { outputs, inputs: channels } = block;
  // The loss sees the block's features centred and scaled by the frozen training features' statistics.
  const { mean, scale } = featureNormalisation(await lastBlockFeatures(block, train, 'plain', options.kernel));
  const { lossSpace } = options;
  if (lossSpace && (lossSpace.hiddenDims !== 0 || lossSpace.residual || lossSpace.before || (lossSpace.inputPower ?? 1) !== 1 || lossSpace.inputDims !== outputs)) {
    throw new Error(`The loss space must be one linear map from the block's ${outputs} features, with no input power.`);
  }
  // ((x - mean) / scale) W + b, in the TF.js graph so the loss's gradient flows back through it.
  const throughLossSpace = lossSpace
    ? (embedded: import('@tensorflow/tfjs').Tensor2D) =>
        tf.add(matMul(tf.div(tf.sub(embedded, tf.tensor1d(lossSpace.inputMean)), lossSpace.inputScale), tf.tensor2d(lossSpace.w1, [lossSpace.inputDims, lossSpace.outputDims])), tf.tensor1d(lossSpace.b1)) as import('@tensorflow/tfjs').Tensor2D
    : undefined;
  const velocity = { weight: new Float32Array(block.weight.length), bias: new Float32Array(block.bias.length) };
  const parameters = { weight: block.weight, bias: block.bias };
  const step = (values: Float32Array, gradient: Float32Array, moment: Float32Array, rate: number) => sgdStep(values, gradient, moment, rate, momentum, weightDecay);
  // Validation clusters the block's features as the loss sees them: through the loss space when there is one.
  const validationCa = async (weights: LastBlockWeights, epoch: number) => {
    if (!validation) return Number.NaN;
    const features = await lastBlockFeatures(weights, validation, 'average', options.kernel);
    return scoreClusterAccuracy(lossSpace ? await applyAdapter(lossSpace, features) : features, validation.labels, deriveSeed(seed, epoch));
  };

  const initialValidationCa = await validationCa(block, 0);
  // The loss normalisation and the score above come from the pretrained block, alike on resuming; a resumed
  // run then goes on from its stored weights and momentum.
  if (resume) {
    restoreArrays(parameters, resume.parameters);
    restoreArrays(velocity, resume.velocities);
  }
  const { best, bestEpoch, history } = await runEpochs(
    {
      epochs,
      tasksPerEpoch,
      learningRate,
      gamma,
      milestones,
      validated: validation !== null,
      progressEvery: 5,
      yieldEvery: 1,
      label: 'Last block: epoch',
      signal,
      onProgress,
      onEpoch,
    },
    async (rate) => {
      const episode = sampleEpisode(rowsByClass, { way, shot, query }, random);
      const images = [...episode.support, ...episode.query];
      const count = images.length;
      const sizes = train.scales[Math.floor(random() * train.scales.length)]!;
      const { positions } = sizes;
      // Flip augmentation: each image's plain or mirrored maps.
      const mirrored = images.map(() => random() < 0.5);
      const mapsOf = (index: number) => (mirrored[index] ? sizes.mirrored : sizes.plain);
      const lossOf = (features: Float32Array) => {
        if (lossSpace) return episodeLossGradient(tf, matMul, features, outputs, { way: episode.way, shot, query }, alpha, loss, throughLossSpace);
        for (let index = 0; index < features.length; index++) features[index] = (features[index]! - mean[index % outputs]!) / scale;
        const result = episodeLossGradient(tf, matMul, features, outputs, { way: episode.way, shot, query }, alpha, loss);
        for (let index = 0; index < result.gradient.length; index++) result.gradient[index] = result.gradient[index]! / scale;
        return result;
      };
      let gradients: { loss: number; accuracy: number; weightGradient: Float32Array; biasGradient: Float32Array };
      if ('runtime' in engine) {
        const batch = gatherImageMaps(mapsOf, channels, positions, images);
        const forward = await engine.runtime.forward(block, batch, count, positions, true);
        const result = lossOf(forward.features);
        gradients = { ...result, ...(await engine.runtime.backward(block, batch, count, positions, forward.mask!, result.gradient)) };
      } else {
        const { rows, columns } = gatherMaps(mapsOf, channels, positions, images);
        gradients = await blockGradient(block, rows, columns, count, positions, engine.kernel, lossOf);
      }
      const { weightGradient, biasGradient } = gradients;
      step(block.weight, weightGradient, velocity.weight, rate);
      step(block.bias, biasGradient, velocity.bias, rate);
      return gradients;
    },
    async (epoch) => ({ snapshot: copyBlock(block), validationCa: await validationCa(block, epoch) }),
    {
      start: { snapshot: copyBlock(pretrained), validationCa: initialValidationCa },
      resume: resume?.loop,
      afterEpoch: onState && ((loop: EpochLoopState<LastBlockWeights>) => onState({ loop, parameters, velocities: velocity, random: random.state })),
    },
  );
  return { best, bestEpoch, initialValidationCa, history, seconds: (performance.now() - started) / 1000 };
}
