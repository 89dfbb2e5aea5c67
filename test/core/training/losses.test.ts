import { describe, expect, it } from 'vitest';
import { readyTf } from '../../../src-main/core/backbones/tfjs-runtime';
import {
  episodeLossGradient,
  kclLoss,
  makeMatMul,
  mclLoss,
  prototypicalLoss,
  prototypicalLossReference,
  scatterLoss,
  scatterLossReference,
} from '../../../src-main/core/training/losses';

const { tf } = await readyTf();
const matMul = makeMatMul(tf);

describe('scatter loss, Eq. (1)', () => {
  it('equals the hand-computed value on a 2-way 2-shot support set', () => {
    // Class 0: (0,0),(2,0) -> mean (1,0), within 1 + 1 = 2. Class 1: (0,4),(0,6) -> mean (0,5), within 1 + 1 = 2.
    // Between: |(1,0) - (0,5)|^2 = 1 + 25 = 26. Lm = 4 / 26.
    const support = [[0, 0], [2, 0], [0, 4], [0, 6]];
    expect(scatterLossReference(support, 2, 2)).toBeCloseTo(4 / 26, 12);
    const value = scatterLoss(tf, matMul, tf.tensor2d(support), 2, 2).dataSync()[0]!;
    expect(value).toBeCloseTo(4 / 26, 6);
  });
});

describe('prototypical loss, Eq. (2)', () => {
  it('equals the hand-computed cross-entropy', () => {
    // Prototypes (0,0) and (2,0). Query (0.5,0) of class 0: distances 0.25 and 2.25;
    // loss = -log(e^-0.25 / (e^-0.25 + e^-2.25)) = log(1 + e^-2).
    const support = [[0, 0], [2, 0]];
    const query = [[0.5, 0], [2, 1]];
    // Query (2,1) of class 1: distances 5 and 1: loss log(1 + e^-4).
    const expected = (Math.log(1 + Math.exp(-2)) + Math.log(1 + Math.exp(-4))) / 2;
    expect(prototypicalLossReference(support, query, 2, 1, 1)).toBeCloseTo(expected, 12);
    const { loss, accuracy } = prototypicalLoss(tf, matMul, tf.tensor2d(support), tf.tensor2d(query), 2, 1, 1);
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 6);
    expect(accuracy.dataSync()[0]).toBe(1);
  });

  it('has the gradient autodiff gives through the custom matrix product', () => {
    const support = tf.tensor2d([[0, 1], [1, 0], [3, 3], [4, 2]]);
    const query = tf.tensor2d([[0.5, 0.5], [3, 2]]);
    const custom = tf.grad((s: import('@tensorflow/tfjs').Tensor) => prototypicalLoss(tf, matMul, s as import('@tensorflow/tfjs').Tensor2D, query, 2, 2, 1).loss as import('@tensorflow/tfjs').Scalar)(support);
    const plainMatMul = (a: import('@tensorflow/tfjs').Tensor2D, b: import('@tensorflow/tfjs').Tensor2D) => tf.matMul(a, b) as import('@tensorflow/tfjs').Tensor2D;
    const reference = tf.grad((s: import('@tensorflow/tfjs').Tensor) => prototypicalLoss(tf, plainMatMul, s as import('@tensorflow/tfjs').Tensor2D, query, 2, 2, 1).loss as import('@tensorflow/tfjs').Scalar)(support);
    const a = custom.dataSync();
    const b = reference.dataSync();
    for (let index = 0; index < a.length; index++) expect(a[index]).toBeCloseTo(b[index]!, 5);
  });
});

describe('pairwise losses (Hsu et al.)', () => {
  it('MCL is the binary cross-entropy of p_i . p_j against pair labels', () => {
    // Two confident rows on class 0 and one on class 1 (logits 0 vs 20 give probabilities ~1 and ~2e-9).
    const logits = tf.tensor2d([[20, 0], [20, 0], [0, 20]]);
    const low = mclLoss(tf, matMul, logits, [0, 0, 1]).dataSync()[0]!;
    const high = mclLoss(tf, matMul, logits, [0, 1, 1]).dataSync()[0]!;
    expect(low).toBeLessThan(1e-6);
    expect(high).toBeGreaterThan(5);
    // Uniform predictions: p_i . p_j = 0.5 for every pair, so the loss is log 2 whatever the labels.
    expect(mclLoss(tf, matMul, tf.zeros([3, 2]), [0, 0, 1]).dataSync()[0]).toBeCloseTo(Math.log(2), 6);
  });

  it('KCL is zero for agreeing similar pairs and for dissimilar pairs past the margin', () => {
    const logits = tf.tensor2d([[20, 0], [20, 0], [0, 20]]);
    expect(kclLoss(tf, matMul, logits, [0, 0, 1]).dataSync()[0]).toBeCloseTo(0, 5);
    // Identical distributions for a dissimilar pair cost the full margin (2) on both ordered pairs.
    const same = tf.tensor2d([[1, 0], [1, 0]]);
    expect(kclLoss(tf, matMul, same, [0, 1]).dataSync()[0]).toBeCloseTo(2, 6);
  });
});

describe('episode loss through a fixed map', () => {
  it('passes the gradient back through the map (chain rule: the gradient at x W, times W transposed)', () => {
    // 2-way 1-shot 1-query episode in 3-d, mapped to 2-d by W.
    const x = Float32Array.of(0.1, 0, 0.2, -0.1, 0.3, 0.05, 0.02, 0.1, 0.05, 0.01, 0.12, 0.1);
    const w = [
      [0.5, -1],
      [2, 0.3],
      [-0.4, 1.2],
    ];
    const shape = { way: 2, shot: 1, query: 1 };
    const mapped = tf.tidy(() => tf.matMul(tf.tensor2d(x, [4, 3]), tf.tensor2d(w)).dataSync() as Float32Array);
    const direct = episodeLossGradient(tf, matMul, Float32Array.from(mapped), 2, shape, 0.3, 'proto');
    const through = episodeLossGradient(tf, matMul, x, 3, shape, 0.3, 'proto', (embedded) => matMul(embedded, tf.tensor2d(w)));
    expect(through.loss).toBeCloseTo(direct.loss, 5);
    for (let row = 0; row < 4; row++)
      for (let column = 0; column < 3; column++) {
        const expected = w[column]!.reduce((sum, weight, output) => sum + direct.gradient[row * 2 + output]! * weight, 0);
        expect(through.gradient[row * 3 + column]).toBeCloseTo(expected, 5);
      }
    expect(Math.max(...Array.from(through.gradient).map(Math.abs))).toBeGreaterThan(1e-3);
  });
});
