/**
 * Gaussian mixture with diagonal covariances, fitted by expectation-maximisation (Dempster, Laird and Rubin
 * 1977), following scikit-learn's GaussianMixture(covariance_type='diag'): initialised from K-means labels,
 * `reg_covar` added to every variance, stopped when the mean log-likelihood per point changes by less than
 * `tolerance`, and a last E-step so the labels match the final parameters.
 *
 * Both heavy steps are matrix products on the fast kernel. With diagonal covariances the squared Mahalanobis
 * distance of x to component k is sum_d x_d^2 / var_kd - 2 x_d mu_kd / var_kd + mu_kd^2 / var_kd, so the
 * E-step is one product [x^2 | x] x transpose([1 / var | -2 mu / var]) per block of rows; the M-step's sums
 * resp^T x and resp^T x^2 are one product per block as well. Every block is built from the data minus its
 * mean (the log-likelihood does not change under a shift, and smaller numbers lose less to cancellation in
 * float32), so no centred copy of the data is kept.
 */
import { type LongWorkOptions, throwIfCancelled, yieldToEventLoop } from '../util/progress';
import { kmeans, type VectorSet } from './kmeans';
import { fastestKernel, type MatrixKernel } from './matrix-kernel';

/** Settings of a Gaussian mixture fit. */
export interface GaussianMixtureOptions extends LongWorkOptions {
  /** Number of components, 1..count. */
  k: number;
  /** Upper bound on EM iterations. Default 100, as scikit-learn. */
  maxIterations?: number;
  /**
   * Stop when the mean log-likelihood per point (nats) changes by less than this between iterations. Smaller
   * values iterate longer. Default 1e-3, as scikit-learn's `tol`.
   */
  tolerance?: number;
  /** Added to every variance so a component cannot collapse onto one point. Default 1e-6, as scikit-learn's `reg_covar`. */
  regularization?: number;
  /** Seed of the K-means initialisation; the same seed gives the same mixture. Default 0. */
  seed?: number;
  /** K-means restarts of the initialisation. Default 1, as scikit-learn's KMeans(n_init=1) inside GaussianMixture. */
  kmeansRestarts?: number;
  /**
   * Start from these parameters instead of K-means (scikit-learn's weights_init, means_init and
   * precisions_init = 1 / variances): weights [k], means and variances [k x dims], row-major.
   */
  initial?: { weights: ArrayLike<number>; means: ArrayLike<number>; variances: ArrayLike<number> };
  /** Matrix-product kernel; default the fastest available. */
  kernel?: MatrixKernel;
}

/** A fitted mixture and each point's most likely component. */
export interface GaussianMixtureResult {
  /** Most likely component of each point, 0..k-1. */
  labels: Int32Array;
  /** Each point's posterior probability of its label (the largest responsibility), in (0, 1]. */
  maxResponsibility: Float32Array;
  /** Each point's log density under the mixture (nats), as scikit-learn's score_samples. */
  pointLogLikelihood: Float64Array;
  /** Mean of `pointLogLikelihood`, as scikit-learn's score(X). */
  logLikelihood: number;
  /** Mixing weights [k], summing to 1. */
  weights: Float64Array;
  /** Component means [k x dims]. */
  means: Float64Array;
  /** Component variances [k x dims], regularisation included. */
  variances: Float64Array;
  /** EM iterations run (scikit-learn's n_iter_). */
  iterations: number;
  /** Whether the change in log-likelihood fell below the tolerance before maxIterations. */
  converged: boolean;
}

/** Floats in one block's [x^2 | x] matrix (16 MB). */
const BLOCK_FLOATS = 4 * 1024 * 1024;
const LOG_TWO_PI = Math.log(2 * Math.PI);
/** scikit-learn adds 10 machine epsilons to every component's weight so an empty component does not divide by 0. */
const WEIGHT_FLOOR = 10 * Number.EPSILON;

/** The parameters EM moves, in coordinates relative to the data's mean. */
interface Parameters {
  weights: Float64Array;
  means: Float64Array;
  variances: Float64Array;
}

/**
 * Fits a mixture of k Gaussians with diagonal covariances.
 *
 * await gaussianMixture({ data, count: 300, dims: 5 }, { k: 4, seed: 0 })
 * // { labels: Int32Array(300) in 0..3, maxResponsibility, pointLogLikelihood, logLikelihood: -7.43,
 * //   weights: Float64Array(4), means: Float64Array(20), variances: Float64Array(20), iterations: 12, converged: true }
 */
export async function gaussianMixture(vectors: VectorSet, options: GaussianMixtureOptions): Promise<GaussianMixtureResult> {
  const { k, maxIterations = 100, tolerance = 1e-3, regularization = 1e-6, seed = 0, signal, onProgress } = options;
  const { data, count, dims } = vectors;
  if (!Number.isInteger(k) || k < 1) throw new Error(`The number of components must be a whole number of at least 1, not ${k}.`);
  if (k > count) throw new Error(`Cannot fit ${k} components to ${count} images: choose at most ${count}.`);
  if (data.length !== count * dims) throw new Error('Vector data does not match count x dims.');
  if (!(regularization >= 0)) throw new Error(`The regularisation must be at least 0, not ${regularization}.`);
  const kernel = options.kernel ?? (await fastestKernel());
  const mean = new Float64Array(dims);
  for (let row = 0; row < count; row++) for (let index = 0; index < dims; index++) mean[index] = mean[index]! + data[row * dims + index]!;
  for (let index = 0; index < dims; index++) mean[index] = mean[index]! / count;
  const blockRows = Math.max(1, Math.min(count, Math.floor(BLOCK_FLOATS / (2 * dims))));
  const responsibilities = new Float32Array(count * k);

  let parameters: Parameters;
  if (options.initial) {
    const { weights, means, variances } = options.initial;
    if (weights.length !== k || means.length !== k * dims || variances.length !== k * dims) throw new Error('The initial parameters do not match k x dims.');
    parameters = {
      weights: Float64Array.from(weights),
      means: Float64Array.from(means, (value, index) => value - mean[index % dims]!),
      variances: Float64Array.from(variances),
    };
  } else {
    onProgress?.({ fraction: 0, message: `K-means initialisation of ${k} components` });
    const start = await kmeans(vectors, { k, seed, restarts: options.kmeansRestarts ?? 1, kernel, signal });
    for (let row = 0; row < count; row++) responsibilities[row * k + start.labels[row]!] = 1;
    parameters = await maximization(vectors, mean, responsibilities, k, regularization, blockRows, kernel, signal);
  }

  let lowerBound = -Infinity;
  let iterations = 0;
  let converged = false;
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    throwIfCancelled(signal);
    const previous = lowerBound;
    lowerBound = (await expectation(vectors, mean, parameters, k, blockRows, kernel, responsibilities, signal)).mean;
    parameters = await maximization(vectors, mean, responsibilities, k, regularization, blockRows, kernel, signal);
    iterations = iteration;
    onProgress?.({ fraction: iteration / maxIterations, message: `EM iteration ${iteration}: mean log-likelihood ${lowerBound.toPrecision(6)}` });
    if (Math.abs(lowerBound - previous) < tolerance) {
      converged = true;
      break;
    }
    await yieldToEventLoop();
  }
  const final = await expectation(vectors, mean, parameters, k, blockRows, kernel, responsibilities, signal);
  const labels = new Int32Array(count);
  const maxResponsibility = new Float32Array(count);
  for (let row = 0; row < count; row++) {
    let best = 0;
    for (let component = 1; component < k; component++) if (responsibilities[row * k + component]! > responsibilities[row * k + best]!) best = component;
    labels[row] = best;
    maxResponsibility[row] = responsibilities[row * k + best]!;
  }
  const means = Float64Array.from(parameters.means, (value, index) => value + mean[index % dims]!);
  onProgress?.({ fraction: 1, message: `Gaussian mixture done: ${iterations} iterations, mean log-likelihood ${final.mean.toPrecision(6)}` });
  return {
    labels,
    maxResponsibility,
    pointLogLikelihood: final.perPoint,
    logLikelihood: final.mean,
    weights: parameters.weights,
    means,
    variances: parameters.variances,
    iterations,
    converged,
  };
}

/**
 * E-step: fills `responsibilities` (count x k, each row summing to 1) and returns each point's log density
 * and their mean (scikit-learn's log_prob_norm and its mean, the "lower bound").
 */
async function expectation(
  vectors: VectorSet,
  mean: Float64Array,
  parameters: Parameters,
  k: number,
  blockRows: number,
  kernel: MatrixKernel,
  responsibilities: Float32Array,
  signal: AbortSignal | undefined,
): Promise<{ mean: number; perPoint: Float64Array }> {
  const { data, count, dims } = vectors;
  const { weights, means, variances } = parameters;
  const width = 2 * dims;
  // Row k of `components`: [1 / var_k | -2 mu_k / var_k]; `constants[k]` holds everything that does not depend on x.
  const components = new Float32Array(k * width);
  const constants = new Float64Array(k);
  for (let component = 0; component < k; component++) {
    let logDeterminant = 0;
    let meanTerm = 0;
    for (let index = 0; index < dims; index++) {
      const variance = variances[component * dims + index]!;
      const mu = means[component * dims + index]!;
      components[component * width + index] = 1 / variance;
      components[component * width + dims + index] = (-2 * mu) / variance;
      logDeterminant += Math.log(variance);
      meanTerm += (mu * mu) / variance;
    }
    constants[component] = Math.log(weights[component]!) - 0.5 * (dims * LOG_TWO_PI + logDeterminant + meanTerm);
  }
  const block = new Float32Array(blockRows * width);
  const perPoint = new Float64Array(count);
  const logs = new Float64Array(k);
  let total = 0;
  for (let start = 0; start < count; start += blockRows) {
    throwIfCancelled(signal);
    const rows = Math.min(blockRows, count - start);
    for (let line = 0; line < rows; line++) {
      const source = (start + line) * dims;
      const target = line * width;
      for (let index = 0; index < dims; index++) {
        const value = data[source + index]! - mean[index]!;
        block[target + index] = value * value;
        block[target + dims + index] = value;
      }
    }
    const products = await kernel.multiplyTransposed(block, rows, components, k, width);
    for (let line = 0; line < rows; line++) {
      let largest = -Infinity;
      for (let component = 0; component < k; component++) {
        const value = constants[component]! - 0.5 * products[line * k + component]!;
        logs[component] = value;
        if (value > largest) largest = value;
      }
      let sum = 0;
      for (let component = 0; component < k; component++) sum += Math.exp(logs[component]! - largest);
      const logNorm = largest + Math.log(sum);
      const row = start + line;
      perPoint[row] = logNorm;
      total += logNorm;
      for (let component = 0; component < k; component++) responsibilities[row * k + component] = Math.exp(logs[component]! - logNorm);
    }
  }
  return { mean: total / count, perPoint };
}

/**
 * M-step: weights, means and variances from the responsibilities (scikit-learn's
 * _estimate_gaussian_parameters with covariance_type='diag'): var = E[x^2] - mu^2 + regularization.
 */
async function maximization(
  vectors: VectorSet,
  mean: Float64Array,
  responsibilities: Float32Array,
  k: number,
  regularization: number,
  blockRows: number,
  kernel: MatrixKernel,
  signal: AbortSignal | undefined,
): Promise<Parameters> {
  const { data, count, dims } = vectors;
  const width = 2 * dims;
  const totals = new Float64Array(k);
  // sums[k][0..dims) = sum_i r_ik x_i, sums[k][dims..2 dims) = sum_i r_ik x_i^2, summed over blocks in float64.
  const sums = new Float64Array(k * width);
  const transposed = new Float32Array(blockRows * width);
  const transposedResponsibilities = new Float32Array(blockRows * k);
  for (let start = 0; start < count; start += blockRows) {
    throwIfCancelled(signal);
    const rows = Math.min(blockRows, count - start);
    for (let line = 0; line < rows; line++) {
      const source = (start + line) * dims;
      for (let index = 0; index < dims; index++) {
        const value = data[source + index]! - mean[index]!;
        transposed[index * rows + line] = value;
        transposed[(dims + index) * rows + line] = value * value;
      }
      for (let component = 0; component < k; component++) {
        const weight = responsibilities[(start + line) * k + component]!;
        transposedResponsibilities[component * rows + line] = weight;
        totals[component] = totals[component]! + weight;
      }
    }
    const products = await kernel.multiplyTransposed(transposedResponsibilities, k, transposed, width, rows);
    for (let index = 0; index < k * width; index++) sums[index] = sums[index]! + products[index]!;
  }
  const weights = new Float64Array(k);
  const means = new Float64Array(k * dims);
  const variances = new Float64Array(k * dims);
  let weightSum = 0;
  for (let component = 0; component < k; component++) {
    const total = totals[component]! + WEIGHT_FLOOR;
    weights[component] = total;
    weightSum += total;
    for (let index = 0; index < dims; index++) {
      const mu = sums[component * width + index]! / total;
      means[component * dims + index] = mu;
      // Float32 sums can leave E[x^2] a hair below mu^2 for a component of identical points.
      variances[component * dims + index] = Math.max(0, sums[component * width + dims + index]! / total - mu * mu) + regularization;
    }
  }
  for (let component = 0; component < k; component++) weights[component] = weights[component]! / weightSum;
  for (let index = 0; index < variances.length; index++) {
    if (!(variances[index]! > 0)) {
      throw new Error('A mixture component has zero variance (identical images with no regularisation): set a regularisation above 0.');
    }
  }
  return { weights, means, variances };
}
