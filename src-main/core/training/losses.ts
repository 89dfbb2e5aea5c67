/**
 * Training losses on TF.js tensors, each with a plain-JavaScript reference used by the tests:
 * the Prototypical Network cross-entropy (Eq. 2), the multivariate scatter loss (Eq. 1) and their mix
 * (Eq. 3) from Bjerge et al. 2025, and the pairwise KCL and MCL criteria of Hsu et al. (ICLR 2018, 2019).
 */
import type { Tf } from '../backbones/tfjs-runtime';

type Tensor = import('@tensorflow/tfjs').Tensor;
type Tensor2D = import('@tensorflow/tfjs').Tensor2D;

/**
 * A matrix product whose gradient materialises transposes before multiplying: TF.js's WebAssembly
 * backend runs transposed products several times slower than plain ones.
 */
export function makeMatMul(tf: Tf): (a: Tensor2D, b: Tensor2D) => Tensor2D {
  const product = tf.customGrad((a, b, save) => {
    (save as import('@tensorflow/tfjs').GradSaveFunc)([a as Tensor2D, b as Tensor2D]);
    return {
      value: tf.matMul(a as Tensor2D, b as Tensor2D),
      gradFunc: (dy, saved) => {
        const [savedA, savedB] = saved as [Tensor2D, Tensor2D];
        return [tf.matMul(dy as Tensor2D, tf.transpose(savedB)), tf.matMul(tf.transpose(savedA), dy as Tensor2D)];
      },
    };
  });
  return (a, b) => product(a, b) as Tensor2D;
}

/** Identity whose gradient is zero: a fixed target inside a differentiated expression. */
export function makeStopGradient(tf: Tf): (x: Tensor2D) => Tensor2D {
  const stop = tf.customGrad((x) => ({ value: tf.clone(x as Tensor2D), gradFunc: (dy) => tf.zerosLike(dy as Tensor2D) }));
  return (x) => stop(x) as Tensor2D;
}

/** Squared Euclidean distances between the rows of a [n, d] and b [m, d]: [n, m]. */
export function squaredDistances(tf: Tf, matMul: ReturnType<typeof makeMatMul>, a: Tensor2D, b: Tensor2D): Tensor2D {
  const aNorms = tf.sum(tf.square(a), 1, true);
  const bNorms = tf.reshape(tf.sum(tf.square(b), 1), [1, -1]);
  return tf.relu(tf.sub(tf.add(aNorms, bNorms), tf.mul(2, matMul(a, tf.transpose(b))))) as Tensor2D;
}

/** Class means of a species-major support set [way * shot, d]: [way, d]. */
export function prototypes(tf: Tf, support: Tensor2D, way: number, shot: number): Tensor2D {
  return tf.mean(tf.reshape(support, [way, shot, -1]), 1) as Tensor2D;
}

/**
 * Eq. (2): cross-entropy of the softmax over negative squared Euclidean distances from each query to the
 * class prototypes (Snell et al. 2017). Returns the mean loss and the query accuracy.
 */
export function prototypicalLoss(
  tf: Tf,
  matMul: ReturnType<typeof makeMatMul>,
  support: Tensor2D,
  query: Tensor2D,
  way: number,
  shot: number,
  queries: number,
): { loss: Tensor; accuracy: Tensor } {
  const logits = tf.neg(squaredDistances(tf, matMul, query, prototypes(tf, support, way, shot)));
  const labels = tf.tensor1d(Array.from({ length: way * queries }, (_, index) => Math.floor(index / queries)), 'int32');
  const logProbabilities = tf.logSoftmax(logits);
  const loss = tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, way), logProbabilities), 1)));
  const accuracy = tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'));
  return { loss, accuracy };
}

/**
 * Eq. (1): multivariate scatter loss over the support set: the summed squared distances of each image to
 * its class mean, divided by the summed squared distances between all pairs of class means.
 * Smaller means tighter, better separated species.
 */
export function scatterLoss(tf: Tf, matMul: ReturnType<typeof makeMatMul>, support: Tensor2D, way: number, shot: number): Tensor {
  const means = prototypes(tf, support, way, shot);
  const centred = tf.sub(tf.reshape(support, [way, shot, -1]), tf.expandDims(means, 1));
  const within = tf.sum(tf.square(centred));
  // Each unordered pair appears twice in the full distance matrix.
  const between = tf.mul(0.5, tf.sum(squaredDistances(tf, matMul, means, means)));
  return tf.div(within, tf.add(between, 1e-12));
}

/**
 * The episode loss, Eq. (3) `alpha * Lm + (1 - alpha) * Lc` (or the scatter loss Lm alone), and its gradient
 * with respect to the embeddings of an episode laid out species-major as [support; queries].
 *
 * episodeLossGradient(tf, matMul, embeddings, 256, { way: 30, shot: 5, query: 6 }, 0.1, 'proto') // { loss: 1.9, accuracy: 0.55, gradient: Float32Array(330 * 256) }
 */
export function episodeLossGradient(
  tf: Tf,
  matMul: ReturnType<typeof makeMatMul>,
  embeddings: Float32Array,
  dims: number,
  shape: { way: number; shot: number; query: number },
  alpha: number,
  kind: 'proto' | 'scatter',
  /** A fixed differentiable map applied to the embeddings before the loss (the gradient flows through it). */
  transform?: (embedded: Tensor2D) => Tensor2D,
): { loss: number; accuracy: number; gradient: Float32Array } {
  const { way, shot, query } = shape;
  const rows = way * (shot + query);
  let accuracy = Number.NaN;
  // tidy returns tensors only: walking typed arrays in its result is very slow.
  const tensors = tf.tidy(() => {
    const lossOf = (input: Tensor) => {
      const embedded = transform ? transform(input as Tensor2D) : (input as Tensor2D);
      const width = embedded.shape[1];
      const support = tf.slice(embedded, [0, 0], [way * shot, width]);
      const queries = tf.slice(embedded, [way * shot, 0], [way * query, width]);
      const proto = prototypicalLoss(tf, matMul, support, queries, way, shot, query);
      accuracy = proto.accuracy.dataSync()[0]!;
      if (kind === 'scatter') return scatterLoss(tf, matMul, support, way, shot) as import('@tensorflow/tfjs').Scalar;
      if (alpha === 0) return proto.loss as import('@tensorflow/tfjs').Scalar;
      return tf.add(tf.mul(alpha, scatterLoss(tf, matMul, support, way, shot)), tf.mul(1 - alpha, proto.loss)) as import('@tensorflow/tfjs').Scalar;
    };
    const { value, grad } = tf.valueAndGrad(lossOf)(tf.tensor2d(embeddings, [rows, dims]));
    return [value, grad];
  });
  const [value, gradient] = tensors.map((tensor) => tensor.dataSync() as Float32Array);
  tf.dispose(tensors);
  return { loss: value![0]!, accuracy, gradient: gradient! };
}

/** Pair labels for rows with the given classes: 1 where two different rows share a class. */
function pairTargets(tf: Tf, classes: number[]): { same: Tensor2D; offDiagonal: Tensor2D } {
  const count = classes.length;
  const same = new Float32Array(count * count);
  const offDiagonal = new Float32Array(count * count);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < count; j++) {
      if (i === j) continue;
      offDiagonal[i * count + j] = 1;
      same[i * count + j] = classes[i] === classes[j] ? 1 : 0;
    }
  }
  return { same: tf.tensor2d(same, [count, count]), offDiagonal: tf.tensor2d(offDiagonal, [count, count]) };
}

/**
 * KCL (Hsu and Kira 2016; Hsu et al. ICLR 2018): for every ordered pair, KL(p_i* || p_j) with p_i* held
 * fixed; similar pairs pull it to 0, dissimilar pairs push it above `margin` (hinge). Mean over pairs.
 */
export function kclLoss(tf: Tf, matMul: ReturnType<typeof makeMatMul>, logits: Tensor2D, classes: number[], margin = 2): Tensor {
  const logProbabilities = tf.logSoftmax(logits) as Tensor2D;
  const stopGradient = makeStopGradient(tf);
  const targetLog = stopGradient(logProbabilities);
  const target = tf.exp(targetLog) as Tensor2D;
  // KL[i, j] = sum_c p_i(c) (log p_i(c) - log p_j(c))
  const selfTerm = tf.sum(tf.mul(target, targetLog), 1, true);
  const kl = tf.sub(selfTerm, matMul(target, tf.transpose(logProbabilities)));
  const { same, offDiagonal } = pairTargets(tf, classes);
  const different = tf.sub(offDiagonal, same);
  const cost = tf.add(tf.mul(same, kl), tf.mul(different, tf.relu(tf.sub(margin, kl))));
  return tf.div(tf.sum(cost), tf.sum(offDiagonal));
}

/**
 * MCL, meta classification likelihood (Hsu et al. ICLR 2019): the probability that two images share a
 * class is the inner product of their predicted class distributions; binary cross-entropy against the
 * known pair labels, mean over ordered pairs.
 */
export function mclLoss(tf: Tf, matMul: ReturnType<typeof makeMatMul>, logits: Tensor2D, classes: number[]): Tensor {
  const probabilities = tf.softmax(logits) as Tensor2D;
  const similarity = tf.clipByValue(matMul(probabilities, tf.transpose(probabilities)), 1e-7, 1 - 1e-7);
  const { same, offDiagonal } = pairTargets(tf, classes);
  const likelihood = tf.add(tf.mul(same, tf.log(similarity)), tf.mul(tf.sub(offDiagonal, same), tf.log(tf.sub(1, similarity))));
  return tf.neg(tf.div(tf.sum(likelihood), tf.sum(offDiagonal)));
}

// ---- Plain-JavaScript references (rows as number arrays), for tests and documentation. ----

function distanceSquared(a: number[], b: number[]): number {
  return a.reduce((sum, value, index) => sum + (value - b[index]!) ** 2, 0);
}

function mean(rows: number[][]): number[] {
  return rows[0]!.map((_, column) => rows.reduce((sum, row) => sum + row[column]!, 0) / rows.length);
}

/** Reference of Eq. (2) on plain arrays. */
export function prototypicalLossReference(support: number[][], query: number[][], way: number, shot: number, queries: number): number {
  const centers = Array.from({ length: way }, (_, c) => mean(support.slice(c * shot, (c + 1) * shot)));
  let total = 0;
  query.forEach((row, index) => {
    const logits = centers.map((center) => -distanceSquared(row, center));
    const maximum = Math.max(...logits);
    const logSum = maximum + Math.log(logits.reduce((sum, logit) => sum + Math.exp(logit - maximum), 0));
    total += logSum - logits[Math.floor(index / queries)]!;
  });
  return total / query.length;
}

/** Reference of Eq. (1) on plain arrays. */
export function scatterLossReference(support: number[][], way: number, shot: number): number {
  const centers = Array.from({ length: way }, (_, c) => mean(support.slice(c * shot, (c + 1) * shot)));
  let within = 0;
  support.forEach((row, index) => (within += distanceSquared(row, centers[Math.floor(index / shot)]!)));
  let between = 0;
  for (let i = 0; i < way; i++) for (let j = i + 1; j < way; j++) between += distanceSquared(centers[i]!, centers[j]!);
  return within / between;
}
