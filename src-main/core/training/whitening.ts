/**
 * Within-class whitening fitted on labeled species, a closed-form metric for clustering unseen ones:
 * centre the features, keep the top principal components, then rescale so that the spread of images
 * around their own species' mean becomes the same in every direction (the within-class scatter of linear
 * discriminant analysis, shrunk towards a multiple of the identity), and finally scale each embedding to
 * unit length. Directions in which photos of one species vary (pose, lighting, wear) shrink; directions
 * that separate species grow. Measured on the EU Moths validation species with MobileNetV2 0.35 features:
 * K-means ARI 0.42 to 0.59, spectral 0.54 to 0.71 (README, "The paper's protocol").
 */
import { symmetricEigen } from '../clustering/linear-algebra';
import { fastestKernel, type MatrixKernel } from '../clustering/matrix-kernel';
import { type AdapterWeights, applyAdapter, signedPower } from './adapter';
import type { LabeledFeatures } from './trainer';

/** Settings of the whitening fit. */
export interface WhiteningOptions {
  /** Principal components kept before whitening; capped by the number of samples minus species. Default 256. */
  dims?: number;
  /**
   * Shrinkage of the within-class covariance towards (its trace / dims) x identity, 0..1. 0 trusts the
   * estimate fully (unstable with few images per species); 1 gives plain PCA with equal scaling. Default 0.1.
   */
  shrinkage?: number;
  /** Signed power applied to the features first (AdapterWeights.inputPower). Default 1 (none); see WHITENING_POWER. */
  power?: number;
  kernel?: MatrixKernel;
}

/**
 * The input power the app whitens with. Chosen on validation species only (mean K-means CA over 3 seeds,
 * whitening fitted on the training species, MobileNetV2 0.35 features at 224 + 288 + 320 px): EU Moths
 * 0.7655 at power 1 against 0.7697 at 0.5, CUB 0.8752 against 0.9352.
 */
export const WHITENING_POWER = 0.5;

/**
 * Fits within-class whitening on labeled features (every `views` copy counts as more samples) and returns
 * it as a linear adapter with unit-length outputs, so it is stored and applied like a trained one.
 *
 * await fitWithinClassWhitening({ data, count: 2200, dims: 1280, labels }) // AdapterWeights, 1280 -> 256, normaliseOutput
 */
export async function fitWithinClassWhitening(features: LabeledFeatures, options: WhiteningOptions = {}): Promise<AdapterWeights> {
  const { dims: wanted = 256, shrinkage = 0.1, power = 1 } = options;
  if (shrinkage < 0 || shrinkage > 1) throw new Error(`shrinkage must be between 0 and 1, not ${shrinkage}.`);
  const kernel = options.kernel ?? (await fastestKernel());
  const inputDims = features.dims;
  const views = [features.data, ...(features.views ?? [])].map((view) => signedPower(view, power));
  const samples = features.count * views.length;
  const classes = new Set(features.labels).size;
  const dims = Math.max(1, Math.min(wanted, inputDims, samples - classes));

  // Mean and covariance over all views.
  const mean = new Float64Array(inputDims);
  for (const view of views) for (let row = 0; row < features.count; row++) for (let d = 0; d < inputDims; d++) mean[d] = mean[d]! + view[row * inputDims + d]!;
  for (let d = 0; d < inputDims; d++) mean[d] = mean[d]! / samples;
  // centredTransposed is inputDims x samples, so the covariance is one product of it with itself.
  const centredTransposed = new Float32Array(inputDims * samples);
  views.forEach((view, viewIndex) => {
    for (let row = 0; row < features.count; row++) {
      const column = viewIndex * features.count + row;
      for (let d = 0; d < inputDims; d++) centredTransposed[d * samples + column] = view[row * inputDims + d]! - mean[d]!;
    }
  });
  const basis = await principalBasis(centredTransposed, inputDims, samples, dims, kernel);

  // Project every sample, then the within-class scatter in the projected space.
  const projected = await kernel.multiplyTransposed(transposeToFloat32(centredTransposed, inputDims, samples), samples, transposeToFloat32(basis, inputDims, dims), dims, inputDims);
  const labelOf = (sample: number) => features.labels[sample % features.count]!;
  const classMeans = new Float64Array(classes * dims);
  const classCounts = new Float64Array(classes);
  const classIndex = new Map([...new Set(features.labels)].sort((a, b) => a - b).map((label, index) => [label, index]));
  for (let sample = 0; sample < samples; sample++) {
    const species = classIndex.get(labelOf(sample))!;
    classCounts[species] = classCounts[species]! + 1;
    for (let d = 0; d < dims; d++) classMeans[species * dims + d] = classMeans[species * dims + d]! + projected[sample * dims + d]!;
  }
  for (let species = 0; species < classes; species++) for (let d = 0; d < dims; d++) classMeans[species * dims + d] = classMeans[species * dims + d]! / classCounts[species]!;
  const within = new Float64Array(dims * dims);
  const deviation = new Float64Array(dims);
  for (let sample = 0; sample < samples; sample++) {
    const species = classIndex.get(labelOf(sample))!;
    for (let d = 0; d < dims; d++) deviation[d] = projected[sample * dims + d]! - classMeans[species * dims + d]!;
    for (let row = 0; row < dims; row++) {
      const value = deviation[row]!;
      for (let column = 0; column <= row; column++) within[row * dims + column] = within[row * dims + column]! + value * deviation[column]!;
    }
  }
  let trace = 0;
  for (let row = 0; row < dims; row++) {
    for (let column = 0; column <= row; column++) {
      const value = within[row * dims + column]! / samples;
      within[row * dims + column] = value;
      within[column * dims + row] = value;
    }
    trace += within[row * dims + row]!;
  }
  for (let row = 0; row < dims; row++) {
    for (let column = 0; column < dims; column++) within[row * dims + column] = (1 - shrinkage) * within[row * dims + column]! + (row === column ? (shrinkage * trace) / dims : 0);
  }
  const scatter = symmetricEigen(within, dims);
  // W = basis x scatter vectors x diag(1 / sqrt(eigenvalues)): inputDims x dims.
  const whitening = new Float64Array(dims * dims);
  const floor = Math.max(1e-12, (trace / dims) * 1e-9);
  for (let row = 0; row < dims; row++) {
    for (let column = 0; column < dims; column++) whitening[row * dims + column] = scatter.vectors[row * dims + column]! / Math.sqrt(Math.max(scatter.values[column]!, floor));
  }
  const w1 = new Float32Array(inputDims * dims);
  for (let d = 0; d < inputDims; d++) {
    for (let inner = 0; inner < dims; inner++) {
      const value = basis[d * dims + inner]!;
      if (value === 0) continue;
      for (let column = 0; column < dims; column++) w1[d * dims + column] = w1[d * dims + column]! + value * whitening[inner * dims + column]!;
    }
  }
  return {
    inputDims,
    hiddenDims: 0,
    outputDims: dims,
    ...(power !== 1 ? { inputPower: power } : {}),
    inputMean: Float32Array.from(mean),
    inputScale: 1,
    w1,
    b1: new Float32Array(dims),
    w2: new Float32Array(0),
    b2: new Float32Array(0),
    normaliseOutput: true,
  };
}

function transposeToFloat32(matrix: Float32Array | Float64Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(rows * columns);
  for (let row = 0; row < rows; row++) for (let column = 0; column < columns; column++) out[column * rows + row] = matrix[row * columns + column]!;
  return out;
}

/**
 * The top `dims` principal directions of centred samples given as `centredTransposed` (inputDims x samples):
 * inputDims x dims, largest first, orthonormal columns. With fewer samples than dimensions (a few labeled
 * species in the app: 10 species x 11 photos x 2 views is 220 samples of 1280 features) it solves the small
 * samples x samples Gram matrix instead of the inputDims x inputDims covariance, the same subspace for
 * (inputDims / samples)^3 less work: the eigensolver took 9-11 s of a 10 s training run of 77 photos. `method`
 * forces one way (tests).
 *
 * await principalBasis(centredTransposed, 1280, 220, 200) // Float64Array(1280 * 200)
 */
export async function principalBasis(
  centredTransposed: Float32Array,
  inputDims: number,
  samples: number,
  dims: number,
  kernel: MatrixKernel,
  method: 'auto' | 'covariance' | 'gram' = 'auto',
): Promise<Float64Array> {
  const basis = new Float64Array(inputDims * dims);
  if (method === 'covariance' || (method === 'auto' && samples >= inputDims)) {
    const product = await kernel.multiplyTransposed(centredTransposed, inputDims, centredTransposed, inputDims, samples);
    const principal = symmetricEigen(Float64Array.from(product, (value) => value / samples), inputDims); // ascending eigenvalues
    for (let component = 0; component < dims; component++) {
      const source = inputDims - 1 - component;
      for (let d = 0; d < inputDims; d++) basis[d * dims + component] = principal.vectors[d * inputDims + source]!;
    }
    return basis;
  }
  // Gram matrix G = C^T C (samples x samples): its eigenvectors v give the covariance's as C v, normalised.
  const centred = transposeToFloat32(centredTransposed, inputDims, samples);
  const gram = await kernel.multiplyTransposed(centred, samples, centred, samples, inputDims);
  const eigen = symmetricEigen(Float64Array.from(gram), samples);
  // topTransposed: dims x samples, the top eigenvectors as rows; then C x top^T is inputDims x dims.
  const topTransposed = new Float32Array(dims * samples);
  for (let component = 0; component < dims; component++) {
    const source = samples - 1 - component;
    for (let sample = 0; sample < samples; sample++) topTransposed[component * samples + sample] = eigen.vectors[sample * samples + source]!;
  }
  const directions = await kernel.multiplyTransposed(centredTransposed, inputDims, topTransposed, dims, samples);
  // Each column normalised: |C v| = sqrt(eigenvalue). A direction with no spread (duplicate photos) is left
  // at zero: the samples project to 0 there, as they do on any direction orthogonal to them.
  const largest = Math.max(eigen.values[samples - 1]!, 0);
  for (let component = 0; component < dims; component++) {
    let norm = 0;
    for (let d = 0; d < inputDims; d++) norm += directions[d * dims + component]! ** 2;
    norm = Math.sqrt(norm);
    if (!(norm > 1e-9 * Math.sqrt(largest))) continue;
    for (let d = 0; d < inputDims; d++) basis[d * dims + component] = directions[d * dims + component]! / norm;
  }
  return basis;
}

/** Maps labeled features and each of their views through an adapter (e.g. the whitening), keeping labels. */
export async function mapLabeledFeatures(weights: AdapterWeights, features: LabeledFeatures, kernel?: MatrixKernel): Promise<LabeledFeatures> {
  const map = async (data: Float32Array) => (await applyAdapter(weights, { data, count: features.count, dims: features.dims }, kernel)).data;
  return {
    data: await map(features.data),
    count: features.count,
    dims: weights.outputDims,
    labels: features.labels,
    views: await Promise.all((features.views ?? []).map(map)),
  };
}

/**
 * Training features plus the labeled images of the species about to be clustered, as extra species, so a
 * whitening refitted on them also shrinks the directions in which those species' photos vary. Each
 * labeled image is repeated `weight` times (in every view) because the new species have only a few
 * labeled images each against the training species' many; 4 was chosen on EU Moths validation species
 * (1, 4 and 8 tried).
 *
 * withLabeledSpecies(train, { data, count: 550, dims: 1280 }, seeds, 4) // LabeledFeatures, train.count + 4 x labeled rows
 */
export function withLabeledSpecies(train: LabeledFeatures, target: { data: Float32Array; count: number; dims: number }, seeds: Int32Array, weight = 4): LabeledFeatures {
  if (target.dims !== train.dims) throw new Error(`Target features are ${target.dims}-d, training features ${train.dims}-d.`);
  if (seeds.length !== target.count) throw new Error(`seeds has ${seeds.length} entries for ${target.count} rows.`);
  const rows = Array.from(seeds.keys()).filter((row) => seeds[row]! >= 0);
  const firstNewLabel = train.labels.reduce((maximum, label) => Math.max(maximum, label + 1), 0);
  const count = train.count + weight * rows.length;
  const dims = train.dims;
  const extend = (trainData: Float32Array) => {
    const data = new Float32Array(count * dims);
    data.set(trainData.subarray(0, train.count * dims));
    let offset = train.count;
    for (let copy = 0; copy < weight; copy++) for (const row of rows) data.set(target.data.subarray(row * dims, (row + 1) * dims), dims * offset++);
    return data;
  };
  const labels = new Int32Array(count);
  labels.set(train.labels);
  let offset = train.count;
  for (let copy = 0; copy < weight; copy++) for (const row of rows) labels[offset++] = firstNewLabel + seeds[row]!;
  return { data: extend(train.data), count, dims, labels, views: (train.views ?? []).map(extend) };
}
