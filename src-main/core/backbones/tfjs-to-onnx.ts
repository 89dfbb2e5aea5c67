/**
 * Converts a TF.js (Keras) layers model to an ONNX graph in memory, so it runs on onnxruntime (about 10
 * times faster than TF.js on WebAssembly here). Covers the layers of MobileNet-style feature extractors:
 * InputLayer, ZeroPadding2D, Conv2D, DepthwiseConv2D, BatchNormalization, ReLU, Activation, Add, Multiply,
 * Concatenate, Dropout, GlobalAveragePooling2D, nested Sequential and functional Models. Anything else
 * throws `UnsupportedLayerError`, and the caller falls back to TF.js.
 *
 * The graph takes NCHW float input named `input` and outputs the pooled features `specimen_sorter_features`.
 * Classifier heads (trailing Dense, Dropout, Activation, Softmax or Flatten layers) are dropped.
 *
 * The model's last block, when it is a 1x1 convolution (with its batch normalisation and ReLU) right before
 * the global average pooling (MobileNet's `Conv_1`), can be cut off (`findLastBlock`): the graph then
 * outputs that block's input map, which training caches, or runs the block with fine-tuned weights.
 */
import { FEATURES_OUTPUT } from './onnx-graph';
import { MessageWriter } from './protobuf';

/** A layer this converter cannot translate. */
export class UnsupportedLayerError extends Error {}

interface LayerJson {
  class_name: string;
  config: Record<string, unknown> & { name?: string; layers?: LayerJson[] };
  name?: string;
  inbound_nodes?: [string, number, number, unknown][][];
}

/** A TF.js model as read from model.json plus its concatenated weight shards. */
export interface TfjsArtifacts {
  modelTopology: { class_name: string; config: unknown } | { model_config: { class_name: string; config: unknown } };
  weightSpecs: { name: string; shape: number[]; dtype: string }[];
  weightData: ArrayBuffer;
}

const HEAD_LAYERS = new Set(['Dense', 'Dropout', 'Activation', 'Softmax', 'Flatten']);
const FLOAT = 1;
const INT64 = 7;

function isHeadConfig(layer: LayerJson): boolean {
  if (HEAD_LAYERS.has(layer.class_name)) return true;
  const nested = layer.config.layers;
  return layer.class_name === 'Sequential' && Array.isArray(nested) && nested.length > 0 && nested.every(isHeadConfig);
}

function tensorProto(writer: MessageWriter, name: string, dims: number[], dataType: number, raw: Uint8Array): void {
  writer.message(5, (tensor) => {
    for (const dim of dims) tensor.varint(1, dim);
    tensor.varint(2, dataType);
    tensor.text(8, name);
    tensor.bytes(9, raw);
  });
}

type Attribute = { name: string } & ({ int: number } | { ints: number[] } | { float: number } | { text: string });

class GraphBuilder {
  readonly graph = new MessageWriter();
  #counter = 0;
  /** Emission stops after this layer (the last block's input); its tensor goes to `cutTensor`. */
  cutLayer: string | undefined;
  cutTensor: string | undefined;

  unique(base: string): string {
    return `${base}__${this.#counter++}`;
  }

  floatTensor(name: string, dims: number[], values: Float32Array): string {
    tensorProto(this.graph, name, dims, FLOAT, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    return name;
  }

  int64Tensor(name: string, values: number[]): string {
    const data = new BigInt64Array(values.map((value) => BigInt(value)));
    tensorProto(this.graph, name, [values.length], INT64, new Uint8Array(data.buffer));
    return name;
  }

  node(opType: string, inputs: string[], output: string, attributes: Attribute[] = []): string {
    this.graph.message(1, (node) => {
      for (const input of inputs) node.text(1, input);
      node.text(2, output);
      node.text(3, output);
      node.text(4, opType);
      for (const attribute of attributes) {
        node.message(5, (message) => {
          message.text(1, attribute.name);
          if ('int' in attribute) message.varint(3, attribute.int).varint(20, 2);
          else if ('float' in attribute) {
            const bytes = new Uint8Array(new Float32Array([attribute.float]).buffer);
            message.raw({ field: 2, wireType: 5, bytes }).varint(20, 1);
          } else if ('ints' in attribute) {
            for (const value of attribute.ints) message.varint(8, value);
            message.varint(20, 7);
          } else message.text(4, attribute.text).varint(20, 3);
        });
      }
    });
    return output;
  }
}

class WeightReader {
  #byName = new Map<string, { shape: number[]; values: Float32Array }>();

  constructor(artifacts: TfjsArtifacts) {
    let offset = 0;
    for (const spec of artifacts.weightSpecs) {
      const size = spec.shape.reduce((product, dim) => product * dim, 1);
      if (spec.dtype !== 'float32') throw new UnsupportedLayerError(`Weight ${spec.name} has dtype ${spec.dtype}; only float32 converts.`);
      if ('quantization' in spec) throw new UnsupportedLayerError(`Weight ${spec.name} is quantized.`);
      this.#byName.set(spec.name, { shape: spec.shape, values: new Float32Array(artifacts.weightData.slice(offset, offset + size * 4)) });
      offset += size * 4;
    }
  }

  get(layer: string, parameter: string): { shape: number[]; values: Float32Array } {
    const found = this.#byName.get(`${layer}/${parameter}`);
    if (!found) throw new UnsupportedLayerError(`Missing weight ${layer}/${parameter}.`);
    return found;
  }

  maybe(layer: string, parameter: string): { shape: number[]; values: Float32Array } | undefined {
    return this.#byName.get(`${layer}/${parameter}`);
  }
}

function pair(value: unknown, fallback: number): [number, number] {
  if (Array.isArray(value)) return [Number(value[0]), Number(value[1])];
  if (typeof value === 'number') return [value, value];
  return [fallback, fallback];
}

/** Reorders a Keras Conv2D kernel [kh, kw, in, out] to ONNX [out, in, kh, kw]. */
function convKernel(shape: number[], values: Float32Array): { dims: number[]; values: Float32Array } {
  const [height, width, inputs, outputs] = shape as [number, number, number, number];
  const out = new Float32Array(values.length);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let input = 0; input < inputs; input++)
        for (let output = 0; output < outputs; output++)
          out[((output * inputs + input) * height + y) * width + x] = values[((y * width + x) * inputs + input) * outputs + output]!;
  return { dims: [outputs, inputs, height, width], values: out };
}

/** Reorders a Keras depthwise kernel [kh, kw, in, multiplier] to ONNX grouped [in * multiplier, 1, kh, kw]. */
function depthwiseKernel(shape: number[], values: Float32Array): { dims: number[]; values: Float32Array } {
  const [height, width, inputs, multiplier] = shape as [number, number, number, number];
  const out = new Float32Array(values.length);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let input = 0; input < inputs; input++)
        for (let m = 0; m < multiplier; m++)
          out[((input * multiplier + m) * height + y) * width + x] = values[((y * width + x) * inputs + input) * multiplier + m]!;
  return { dims: [inputs * multiplier, 1, height, width], values: out };
}

function activation(builder: GraphBuilder, name: string, kind: string, input: string): string {
  switch (kind) {
    case 'linear':
      return input;
    case 'relu':
      return builder.node('Relu', [input], name);
    case 'relu6':
      return builder.node('Clip', [input, builder.floatTensor(builder.unique('zero'), [], Float32Array.of(0)), builder.floatTensor(builder.unique('six'), [], Float32Array.of(6))], name);
    case 'sigmoid':
      return builder.node('Sigmoid', [input], name);
    case 'tanh':
      return builder.node('Tanh', [input], name);
    case 'swish':
    case 'silu': {
      const gate = builder.node('Sigmoid', [input], builder.unique(`${name}_sigmoid`));
      return builder.node('Mul', [input, gate], name);
    }
    default:
      throw new UnsupportedLayerError(`Activation "${kind}" is not supported.`);
  }
}

function emitLeaf(builder: GraphBuilder, weights: WeightReader, layer: LayerJson, inputs: string[]): string {
  const config = layer.config;
  const name = builder.unique(String(config.name ?? layer.class_name));
  const weightName = String(config.name);
  const input = inputs[0]!;
  const convAttributes = (kernel: number[], group: number): Attribute[] => {
    const strides = pair(config.strides, 1);
    const dilations = pair(config.dilation_rate, 1);
    const attributes: Attribute[] = [
      { name: 'kernel_shape', ints: kernel },
      { name: 'strides', ints: strides },
      { name: 'dilations', ints: dilations },
      { name: 'group', int: group },
    ];
    if (config.padding === 'same') attributes.push({ name: 'auto_pad', text: 'SAME_UPPER' });
    else if (config.padding === 'valid') attributes.push({ name: 'pads', ints: [0, 0, 0, 0] });
    else throw new UnsupportedLayerError(`Padding "${String(config.padding)}" is not supported.`);
    return attributes;
  };
  const finish = (output: string) => activation(builder, `${name}_activation`, String(config.activation ?? 'linear'), output);
  switch (layer.class_name) {
    case 'ZeroPadding2D': {
      const padding = config.padding as number[][] | number[] | number;
      let top: number, bottom: number, left: number, right: number;
      if (typeof padding === 'number') top = bottom = left = right = padding;
      else if (Array.isArray(padding[0])) [[top, bottom], [left, right]] = padding as [[number, number], [number, number]];
      else [top, left] = [bottom, right] = padding as [number, number];
      const pads = builder.int64Tensor(builder.unique('pads'), [0, 0, top, left, 0, 0, bottom, right]);
      return builder.node('Pad', [input, pads], name, [{ name: 'mode', text: 'constant' }]);
    }
    case 'Conv2D': {
      const kernel = weights.get(weightName, 'kernel');
      const reordered = convKernel(kernel.shape, kernel.values);
      const conv = [input, builder.floatTensor(builder.unique(`${weightName}_W`), reordered.dims, reordered.values)];
      if (config.use_bias !== false) {
        const bias = weights.get(weightName, 'bias');
        conv.push(builder.floatTensor(builder.unique(`${weightName}_B`), bias.shape, bias.values));
      }
      return finish(builder.node('Conv', conv, name, convAttributes(reordered.dims.slice(2), 1)));
    }
    case 'DepthwiseConv2D': {
      const kernel = weights.get(weightName, 'depthwise_kernel');
      const reordered = depthwiseKernel(kernel.shape, kernel.values);
      const conv = [input, builder.floatTensor(builder.unique(`${weightName}_W`), reordered.dims, reordered.values)];
      if (config.use_bias !== false) {
        const bias = weights.get(weightName, 'bias');
        conv.push(builder.floatTensor(builder.unique(`${weightName}_B`), bias.shape, bias.values));
      }
      return finish(builder.node('Conv', conv, name, convAttributes(reordered.dims.slice(2), kernel.shape[2]!)));
    }
    case 'BatchNormalization': {
      const axis = Number(config.axis ?? -1);
      if (axis !== -1 && axis !== 3) throw new UnsupportedLayerError(`BatchNormalization on axis ${axis} is not supported.`);
      const mean = weights.get(weightName, 'moving_mean');
      const variance = weights.get(weightName, 'moving_variance');
      const channels = mean.shape[0]!;
      const gamma = weights.maybe(weightName, 'gamma')?.values ?? new Float32Array(channels).fill(1);
      const beta = weights.maybe(weightName, 'beta')?.values ?? new Float32Array(channels);
      return builder.node(
        'BatchNormalization',
        [
          input,
          builder.floatTensor(builder.unique(`${weightName}_scale`), [channels], gamma),
          builder.floatTensor(builder.unique(`${weightName}_bias`), [channels], beta),
          builder.floatTensor(builder.unique(`${weightName}_mean`), [channels], mean.values),
          builder.floatTensor(builder.unique(`${weightName}_var`), [channels], variance.values),
        ],
        name,
        [{ name: 'epsilon', float: Number(config.epsilon ?? 1e-3) }],
      );
    }
    case 'ReLU': {
      if (Number(config.negative_slope ?? 0) !== 0 || Number(config.threshold ?? 0) !== 0) {
        throw new UnsupportedLayerError('ReLU with a negative slope or threshold is not supported.');
      }
      const maximum = config.max_value;
      if (maximum === null || maximum === undefined) return builder.node('Relu', [input], name);
      return builder.node('Clip', [input, builder.floatTensor(builder.unique('zero'), [], Float32Array.of(0)), builder.floatTensor(builder.unique('max'), [], Float32Array.of(Number(maximum)))], name);
    }
    case 'Activation':
      return activation(builder, name, String(config.activation), input);
    case 'Dropout':
      return input;
    case 'Add':
    case 'Multiply': {
      const op = layer.class_name === 'Add' ? 'Add' : 'Mul';
      let result = inputs[0]!;
      for (let index = 1; index < inputs.length; index++) {
        result = builder.node(op, [result, inputs[index]!], index === inputs.length - 1 ? name : builder.unique(name));
      }
      return result;
    }
    case 'Concatenate': {
      const axis = Number(config.axis ?? -1);
      if (axis !== -1 && axis !== 3) throw new UnsupportedLayerError(`Concatenate on axis ${axis} is not supported.`);
      return builder.node('Concat', inputs, name, [{ name: 'axis', int: 1 }]);
    }
    case 'GlobalAveragePooling2D': {
      const pooled = builder.node('GlobalAveragePool', [input], builder.unique(`${name}_pool`));
      return builder.node('Flatten', [pooled], name, [{ name: 'axis', int: 1 }]);
    }
    default:
      throw new UnsupportedLayerError(`Layer type ${layer.class_name} (${String(config.name)}) is not supported.`);
  }
}

function emitLayer(builder: GraphBuilder, weights: WeightReader, layer: LayerJson, input: string): string {
  if (layer.class_name === 'Sequential') {
    let value = input;
    for (const inner of layer.config.layers ?? []) {
      if (inner.class_name === 'InputLayer') continue;
      value = emitLayer(builder, weights, inner, value);
      if (builder.cutTensor) return builder.cutTensor;
    }
    return value;
  }
  if (layer.class_name === 'Model' || layer.class_name === 'Functional') {
    const config = layer.config as { layers: LayerJson[]; input_layers: [string, number, number][]; output_layers: [string, number, number][] };
    if (config.input_layers.length !== 1 || config.output_layers.length !== 1) {
      throw new UnsupportedLayerError('Only models with one input and one output convert.');
    }
    const tensors = new Map<string, string>([[config.input_layers[0]![0], input]]);
    for (const inner of config.layers) {
      const innerName = String(inner.name ?? inner.config.name);
      if (inner.class_name === 'InputLayer') continue;
      const nodes = inner.inbound_nodes ?? [];
      if (nodes.length !== 1) throw new UnsupportedLayerError(`Shared layer ${innerName} is not supported.`);
      const sources = nodes[0]!.map(([source]) => {
        const tensor = tensors.get(source);
        if (!tensor) throw new UnsupportedLayerError(`Layer ${innerName} reads ${source} before it exists.`);
        return tensor;
      });
      tensors.set(innerName, inner.config.layers ? emitLayer(builder, weights, inner, sources[0]!) : emitLeaf(builder, weights, inner, sources));
      if (innerName === builder.cutLayer) builder.cutTensor = tensors.get(innerName);
      if (builder.cutTensor) return builder.cutTensor;
    }
    return tensors.get(config.output_layers[0]![0])!;
  }
  return emitLeaf(builder, weights, layer, [input]);
}

/** The weights of a model's last block: a 1x1 convolution with its batch normalisation folded in, then its activation. */
export interface LastBlockWeights {
  inputs: number;
  outputs: number;
  /** [outputs, inputs], row-major (ONNX's Conv weight layout for a 1x1 kernel). */
  weight: Float32Array;
  bias: Float32Array;
  activation: 'linear' | 'relu' | 'relu6';
}

/** A model's last block as found in its layers (`findLastBlock`). */
export interface LastBlock extends LastBlockWeights {
  /** The layer whose output the block reads: where the graph is cut. */
  inputLayer: string;
  /** The block's layers, first to last (MobileNetV2: Conv_1, Conv_1_bn, out_relu). */
  layers: string[];
}

function topologyOf(artifacts: TfjsArtifacts): LayerJson {
  const topology = 'model_config' in artifacts.modelTopology ? artifacts.modelTopology.model_config : artifacts.modelTopology;
  return topology as LayerJson;
}

/** The model without its classifier head. */
function featureBody(root: LayerJson): LayerJson {
  if (root.class_name !== 'Sequential') return root;
  const layers = [...(root.config.layers ?? [])];
  while (layers.length > 1 && isHeadConfig(layers.at(-1)!)) layers.pop();
  return { ...root, config: { ...root.config, layers } };
}

/** The functional model whose output the features pool (through nested Sequentials, skipping the pooling). */
function featureModel(layer: LayerJson): LayerJson | null {
  if (layer.class_name === 'Model' || layer.class_name === 'Functional') return layer;
  if (layer.class_name !== 'Sequential') return null;
  const layers = (layer.config.layers ?? []).filter((inner) => inner.class_name !== 'InputLayer');
  for (let index = layers.length - 1; index >= 0; index--) {
    const inner = layers[index]!;
    if (inner.class_name === 'GlobalAveragePooling2D' || inner.class_name === 'Dropout') continue;
    return featureModel(inner);
  }
  return null;
}

/**
 * Finds the model's last block: a 1x1, stride-1 convolution, optionally followed by batch normalisation and
 * a ReLU (or ReLU6), whose output is what the features pool, as in MobileNetV1/V2's final `Conv_1` block.
 * Its batch normalisation is folded into the convolution (inference statistics), so training and the
 * converted graph see one affine map and an activation. Throws `UnsupportedLayerError` for other models.
 *
 * findLastBlock(artifacts) // { inputLayer: 'block_16_project_BN', layers: ['Conv_1', 'Conv_1_bn', 'out_relu'], inputs: 112, outputs: 1280, activation: 'relu6', ... }
 */
export function findLastBlock(artifacts: TfjsArtifacts): LastBlock {
  const unsupported = (why: string) => new UnsupportedLayerError(`Only models ending in a 1x1 convolution block before the pooling can train their last block: ${why}.`);
  const model = featureModel(featureBody(topologyOf(artifacts)));
  if (!model) throw unsupported('no functional model feeds the pooled features');
  const config = model.config as unknown as { layers: LayerJson[]; output_layers: [string, number, number][] };
  const byName = new Map(config.layers.map((layer) => [String(layer.name ?? layer.config.name), layer]));
  const source = (layer: LayerJson): string => {
    const nodes = layer.inbound_nodes ?? [];
    if (nodes.length !== 1 || nodes[0]!.length !== 1) throw unsupported(`${String(layer.config.name)} does not read exactly one layer`);
    return nodes[0]![0]![0];
  };
  let layer = byName.get(config.output_layers[0]![0]);
  if (layer?.class_name === 'GlobalAveragePooling2D') layer = byName.get(source(layer));
  const chain: LayerJson[] = [];
  let activation: LastBlockWeights['activation'] = 'linear';
  if (layer?.class_name === 'ReLU' && Number(layer.config.negative_slope ?? 0) === 0 && Number(layer.config.threshold ?? 0) === 0) {
    const maximum = layer.config.max_value;
    if (maximum !== null && maximum !== undefined && Number(maximum) !== 6) throw unsupported(`${String(layer.config.name)} clips at ${String(maximum)}`);
    activation = maximum === null || maximum === undefined ? 'relu' : 'relu6';
    chain.unshift(layer);
    layer = byName.get(source(layer));
  }
  let norm: LayerJson | null = null;
  if (layer?.class_name === 'BatchNormalization') {
    norm = layer;
    chain.unshift(layer);
    layer = byName.get(source(layer));
  }
  if (!layer || layer.class_name !== 'Conv2D') throw unsupported(`the last block is a ${layer?.class_name ?? 'missing layer'}, not Conv2D`);
  const [kernelHeight, kernelWidth] = pair(layer.config.kernel_size, 1);
  if (kernelHeight !== 1 || kernelWidth !== 1 || pair(layer.config.strides, 1).some((stride) => stride !== 1)) throw unsupported(`${String(layer.config.name)} is not a 1x1, stride-1 convolution`);
  const own = String(layer.config.activation ?? 'linear');
  if (own !== 'linear') {
    if (chain.length > 0 || (own !== 'relu' && own !== 'relu6')) throw unsupported(`${String(layer.config.name)} has activation ${own}`);
    activation = own;
  }
  chain.unshift(layer);
  const inputLayer = source(layer);
  // The cut stops the graph after inputLayer: every layer listed after it must belong to the block.
  const names = config.layers.map((each) => String(each.name ?? each.config.name));
  const after = names.slice(names.indexOf(inputLayer) + 1);
  const blockNames = chain.map((each) => String(each.name ?? each.config.name));
  if (after.some((name) => !blockNames.includes(name) && byName.get(name)?.class_name !== 'GlobalAveragePooling2D')) throw unsupported('other layers follow the block\'s input');

  const weights = new WeightReader(artifacts);
  const convName = String(layer.config.name);
  const kernel = weights.get(convName, 'kernel');
  const [, , inputs, outputs] = kernel.shape as [number, number, number, number];
  const convBias = layer.config.use_bias !== false ? weights.get(convName, 'bias').values : new Float32Array(outputs);
  const scale = new Float32Array(outputs).fill(1);
  const shift = new Float32Array(outputs);
  if (norm) {
    const normName = String(norm.config.name);
    const mean = weights.get(normName, 'moving_mean').values;
    const variance = weights.get(normName, 'moving_variance').values;
    const gamma = weights.maybe(normName, 'gamma')?.values;
    const beta = weights.maybe(normName, 'beta')?.values;
    const epsilon = Number(norm.config.epsilon ?? 1e-3);
    for (let output = 0; output < outputs; output++) {
      scale[output] = (gamma?.[output] ?? 1) / Math.sqrt(variance[output]! + epsilon);
      shift[output] = (beta?.[output] ?? 0) - mean[output]! * scale[output]!;
    }
  }
  const weight = new Float32Array(outputs * inputs);
  const bias = new Float32Array(outputs);
  for (let output = 0; output < outputs; output++) {
    for (let input = 0; input < inputs; input++) weight[output * inputs + input] = kernel.values[input * outputs + output]! * scale[output]!;
    bias[output] = convBias[output]! * scale[output]! + shift[output]!;
  }
  return { inputLayer, layers: blockNames, inputs, outputs, weight, bias, activation };
}

/** What the converted graph outputs (see `convertTfjsToOnnx`). */
export interface ConvertOptions {
  /**
   * 'input': the last block's input map instead of the pooled features, flattened NCHW [n, channels x height
   * x width], for training to cache. Weights: the pooled features with the last block run on these weights.
   */
  lastBlock?: 'input' | LastBlockWeights;
}

/**
 * Builds ONNX bytes for the feature extractor of a TF.js layers model.
 *
 * convertTfjsToOnnx(artifacts, 224) // Uint8Array: input 'input' [n, 3, 224, 224] -> 'specimen_sorter_features' [n, 1280]
 */
export function convertTfjsToOnnx(artifacts: TfjsArtifacts, inputSize: number, options: ConvertOptions = {}): Uint8Array {
  const weights = new WeightReader(artifacts);
  const builder = new GraphBuilder();
  const body = featureBody(topologyOf(artifacts));
  const { lastBlock } = options;
  if (lastBlock) builder.cutLayer = findLastBlock(artifacts).inputLayer;
  let output = emitLayer(builder, weights, body, 'input');
  if (lastBlock === 'input') output = builder.node('Flatten', [output], builder.unique('block_input'), [{ name: 'axis', int: 1 }]);
  else if (lastBlock) {
    const block = findLastBlock(artifacts);
    if (block.inputs !== lastBlock.inputs || block.outputs !== lastBlock.outputs) {
      throw new UnsupportedLayerError(`Last-block weights are ${lastBlock.inputs} -> ${lastBlock.outputs}, the model's block ${block.inputs} -> ${block.outputs}.`);
    }
    const conv = builder.node(
      'Conv',
      [output, builder.floatTensor(builder.unique('last_block_W'), [lastBlock.outputs, lastBlock.inputs, 1, 1], lastBlock.weight), builder.floatTensor(builder.unique('last_block_B'), [lastBlock.outputs], lastBlock.bias)],
      builder.unique('last_block'),
      [{ name: 'kernel_shape', ints: [1, 1] }],
    );
    const activated = activation(builder, builder.unique('last_block_activation'), lastBlock.activation, conv);
    const pooled = builder.node('GlobalAveragePool', [activated], builder.unique('last_block_pool'));
    output = builder.node('Flatten', [pooled], builder.unique('last_block_features'), [{ name: 'axis', int: 1 }]);
  }
  output = builder.node('Identity', [output], FEATURES_OUTPUT);
  const valueInfo = (field: number, name: string, dims: (number | string)[]) =>
    builder.graph.message(field, (info) => {
      info.text(1, name);
      info.message(2, (type) =>
        type.message(1, (tensor) => {
          tensor.varint(1, FLOAT);
          tensor.message(2, (shape) => {
            for (const dim of dims) shape.message(1, (entry) => (typeof dim === 'number' ? entry.varint(1, dim) : entry.text(2, dim)));
          });
        }),
      );
    });
  builder.graph.text(2, 'tfjs_features');
  valueInfo(11, 'input', ['batch', 3, inputSize, inputSize]);
  valueInfo(12, FEATURES_OUTPUT, ['batch', 'features']);
  const model = new MessageWriter();
  model.varint(1, 8);
  model.text(2, 'specimen-sorter tfjs-to-onnx');
  model.bytes(7, builder.graph.finish());
  model.message(8, (opset) => opset.text(1, '').varint(2, 13));
  return model.finish();
}
