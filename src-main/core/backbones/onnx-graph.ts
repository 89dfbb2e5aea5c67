/**
 * Reads and edits ONNX models at the protobuf level: list the graph's nodes and outputs, and expose a
 * classifier's pooled penultimate features as a new graph output.
 *
 * Field numbers follow onnx.proto (ModelProto.graph = 7; GraphProto.node = 1, input = 11, output = 12;
 * NodeProto.input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7).
 */
import { fieldText, MessageWriter, readFields, type WireField } from './protobuf';

/** A node of an ONNX graph, as far as feature extraction needs it. */
export interface OnnxNode {
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
}

/** The parts of an ONNX model's graph that feature extraction reads. */
export interface OnnxGraphSummary {
  nodes: OnnxNode[];
  inputs: string[];
  outputs: string[];
}

/** Name of the graph output that `exposePooledFeatures` adds. */
export const FEATURES_OUTPUT = 'specimen_sorter_features';

const ONNX_FLOAT = 1;

function graphField(modelBytes: Uint8Array): WireField & { wireType: 2 } {
  const graph = readFields(modelBytes).find((field) => field.field === 7);
  if (!graph || graph.wireType !== 2) throw new Error('This file is not an ONNX model: it has no graph.');
  return graph;
}

function valueInfoName(field: WireField): string {
  if (field.wireType !== 2) return '';
  const name = readFields(field.bytes).find((inner) => inner.field === 1);
  return name ? fieldText(name) : '';
}

/** Lists the nodes, inputs and outputs of an ONNX model. */
export function summariseOnnxGraph(modelBytes: Uint8Array): OnnxGraphSummary {
  const graph = readFields(graphField(modelBytes).bytes);
  const nodes = graph
    .filter((field) => field.field === 1 && field.wireType === 2)
    .map((field) => {
      const parts = readFields((field as { bytes: Uint8Array }).bytes);
      const text = (number: number) => parts.filter((part) => part.field === number).map(fieldText);
      return {
        opType: text(4)[0] ?? '',
        domain: text(7)[0] ?? '',
        inputs: text(1),
        outputs: text(2),
      };
    });
  const initializers = new Set(
    graph.filter((field) => field.field === 5).map((field) => valueInfoNameOfTensor(field)),
  );
  return {
    nodes,
    inputs: graph.filter((field) => field.field === 11).map(valueInfoName).filter((name) => !initializers.has(name)),
    outputs: graph.filter((field) => field.field === 12).map(valueInfoName),
  };
}

// TensorProto.name is field 8.
function valueInfoNameOfTensor(field: WireField): string {
  if (field.wireType !== 2) return '';
  const name = readFields(field.bytes).find((inner) => inner.field === 8);
  return name ? fieldText(name) : '';
}

/**
 * Finds the spatial feature map that a classifier pools before its last layer, as a float tensor.
 *
 * Looks for the last GlobalAveragePool (or the quantized QLinearGlobalAveragePool, or a ReduceMean) and
 * returns its input. For a quantized pool it returns the float tensor made by a DequantizeLinear of that
 * input when the graph has one, or asks for one to be added.
 */
export function findFeatureMap(summary: OnnxGraphSummary):
  | { tensor: string; dequantize?: { quantized: string; scale: string; zeroPoint: string } } {
  const pools = summary.nodes.filter((node) =>
    ['GlobalAveragePool', 'QLinearGlobalAveragePool', 'ReduceMean'].includes(node.opType),
  );
  const pool = pools.at(-1);
  if (!pool) {
    throw new Error(
      'Could not find the pooled feature layer in this ONNX model (no GlobalAveragePool). Export the model with its features as an output, or name the feature tensor in its manifest.',
    );
  }
  const source = pool.inputs[0]!;
  if (pool.opType !== 'QLinearGlobalAveragePool') return { tensor: source };
  const dequantized = summary.nodes.find(
    (node) => node.opType === 'DequantizeLinear' && node.inputs[0] === source,
  );
  if (dequantized) return { tensor: dequantized.outputs[0]! };
  return {
    tensor: `${source}_specimen_sorter_float`,
    dequantize: { quantized: source, scale: pool.inputs[1]!, zeroPoint: pool.inputs[2]! },
  };
}

/**
 * Returns a copy of an ONNX classifier that also outputs its pooled penultimate features,
 * `specimen_sorter_features` of shape [batch, channels], computed in float32.
 *
 * exposePooledFeatures(mobilenetBytes) // a model whose outputs are ['output', 'specimen_sorter_features']
 */
export function exposePooledFeatures(modelBytes: Uint8Array, featureTensor?: string): Uint8Array {
  const summary = summariseOnnxGraph(modelBytes);
  if (summary.outputs.includes(FEATURES_OUTPUT)) return modelBytes;
  const found = featureTensor ? { tensor: featureTensor } : findFeatureMap(summary);
  const pooled = `${FEATURES_OUTPUT}_pooled`;
  const newFields = new MessageWriter();
  if ('dequantize' in found && found.dequantize) {
    const { quantized, scale, zeroPoint } = found.dequantize;
    newFields.message(1, (node) => {
      node.text(1, quantized).text(1, scale).text(1, zeroPoint).text(2, found.tensor);
      node.text(3, 'specimen_sorter_dequantize').text(4, 'DequantizeLinear');
    });
  }
  newFields.message(1, (node) => {
    node.text(1, found.tensor).text(2, pooled).text(3, 'specimen_sorter_pool').text(4, 'GlobalAveragePool');
  });
  newFields.message(1, (node) => {
    node.text(1, pooled).text(2, FEATURES_OUTPUT).text(3, 'specimen_sorter_flatten').text(4, 'Flatten');
  });
  newFields.message(12, (valueInfo) => {
    valueInfo.text(1, FEATURES_OUTPUT);
    // TypeProto { tensor_type (1): { elem_type (1): FLOAT } }
    valueInfo.message(2, (type) => type.message(1, (tensor) => tensor.varint(1, ONNX_FLOAT)));
  });
  return replaceGraph(modelBytes, (graphBytes) => concat(graphBytes, newFields.finish()));
}

function concat(first: Uint8Array, second: Uint8Array): Uint8Array {
  const out = new Uint8Array(first.length + second.length);
  out.set(first, 0);
  out.set(second, first.length);
  return out;
}

function replaceGraph(modelBytes: Uint8Array, edit: (graphBytes: Uint8Array) => Uint8Array): Uint8Array {
  const writer = new MessageWriter();
  for (const field of readFields(modelBytes)) {
    if (field.field === 7 && field.wireType === 2) writer.bytes(7, edit(field.bytes));
    else writer.raw(field);
  }
  return writer.finish();
}

/**
 * Builds a one-node ONNX model computing `output = a x transpose(b)` for float32 matrices of any size:
 * inputs `a` [n, d] and `b` [k, d], output [n, k]. Used as a fast matrix-multiply kernel.
 */
export function buildMatMulTransposedModel(): Uint8Array {
  const model = new MessageWriter();
  model.varint(1, 8); // ir_version 8
  model.text(2, 'specimen-sorter');
  model.message(7, (graph) => {
    graph.message(1, (node) => {
      node.text(1, 'a').text(1, 'b').text(2, 'output').text(3, 'gemm').text(4, 'Gemm');
      // AttributeProto { name (1) = transB, i (3) = 1, type (20) = INT (2) }
      node.message(5, (attribute) => attribute.text(1, 'transB').varint(3, 1).varint(20, 2));
    });
    graph.text(2, 'matmul_transposed');
    const matrix = (name: string, rows: string, columns: string) =>
      graph.message(11, (valueInfo) => {
        valueInfo.text(1, name);
        valueInfo.message(2, (type) =>
          type.message(1, (tensor) => {
            tensor.varint(1, ONNX_FLOAT);
            tensor.message(2, (shape) => {
              shape.message(1, (dim) => dim.text(2, rows));
              shape.message(1, (dim) => dim.text(2, columns));
            });
          }),
        );
      });
    matrix('a', 'n', 'd');
    matrix('b', 'k', 'd');
    graph.message(12, (valueInfo) => {
      valueInfo.text(1, 'output');
      valueInfo.message(2, (type) => type.message(1, (tensor) => tensor.varint(1, ONNX_FLOAT)));
    });
  });
  model.message(8, (opset) => opset.text(1, '').varint(2, 13));
  return model.finish();
}
