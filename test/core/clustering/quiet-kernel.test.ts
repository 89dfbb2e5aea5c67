import { describe, expect, it } from 'vitest';
import { javascriptKernel } from '../../../src-main/core/clustering/matrix-kernel';
import { quietOnnxKernel, sharedQuietKernel } from '../../../src-main/core/clustering/quiet-kernel';

describe('quiet onnxruntime kernel', () => {
  it('equals the JavaScript reference and is shared once per process', async () => {
    const a = Float32Array.from({ length: 41 * 23 }, (_, index) => Math.sin(index));
    const b = Float32Array.from({ length: 7 * 23 }, (_, index) => Math.cos(index * 0.3));
    const expected = await javascriptKernel().multiplyTransposed(a, 41, b, 7, 23);
    const kernel = await quietOnnxKernel(2);
    const actual = await kernel.multiplyTransposed(a, 41, b, 7, 23);
    await kernel.dispose();
    expect(kernel.name).toBe('onnxruntime');
    for (let index = 0; index < expected.length; index++) expect(actual[index]).toBeCloseTo(expected[index]!, 4);
    expect(await sharedQuietKernel()).toBe(await sharedQuietKernel());
  });
});
