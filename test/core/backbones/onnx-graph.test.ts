import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  exposePooledFeatures,
  FEATURES_OUTPUT,
  findFeatureMap,
  summariseOnnxGraph,
} from '../../../src-main/core/backbones/onnx-graph';
import { MessageWriter, readFields, fieldText } from '../../../src-main/core/backbones/protobuf';
import { ONNX_MODEL } from '../../helpers/fixtures';

describe('protobuf', () => {
  it('writes and reads varints, strings and nested messages', () => {
    const bytes = new MessageWriter()
      .varint(1, 300)
      .text(2, 'moth')
      .message(3, (inner) => inner.varint(1, 2n ** 40n))
      .finish();
    const fields = readFields(bytes);
    expect(fields.map((field) => field.field)).toEqual([1, 2, 3]);
    expect(fields[0]).toMatchObject({ wireType: 0, value: 300n });
    expect(fieldText(fields[1]!)).toBe('moth');
    const nested = readFields((fields[2] as { bytes: Uint8Array }).bytes);
    expect(nested[0]).toMatchObject({ value: 2n ** 40n });
  });
});

describe('ONNX feature exposure', () => {
  it('finds MobileNetV2-int8 feature map behind its quantized global pool', () => {
    const summary = summariseOnnxGraph(readFileSync(ONNX_MODEL));
    expect(summary.inputs).toEqual(['input']);
    expect(summary.outputs).toEqual(['output']);
    // The last conv's output is dequantized into tensor "627" before the quantized pool.
    expect(findFeatureMap(summary)).toEqual({ tensor: '627' });
  });

  it('adds a pooled float feature output and keeps the original one', () => {
    const edited = exposePooledFeatures(readFileSync(ONNX_MODEL));
    const summary = summariseOnnxGraph(edited);
    expect(summary.outputs).toEqual(['output', FEATURES_OUTPUT]);
    expect(summary.nodes.slice(-2).map((node) => node.opType)).toEqual(['GlobalAveragePool', 'Flatten']);
    expect(exposePooledFeatures(edited)).toBe(edited);
  });
});
