/**
 * Block LOBPCG (Knyazev 2001, "Toward the optimal preconditioned eigensolver: locally optimal block
 * preconditioned conjugate gradient method", SIAM J. Sci. Comput. 23(2)) for the largest eigenpairs of a
 * symmetric operator, without a preconditioner. Each iteration does one Rayleigh-Ritz step on the span of
 * the current vectors X, the previous directions P and the residuals R = A X - X Theta (Knyazev's
 * Eq. (4.1)). Vectors whose residual is below the tolerance stop contributing residuals and directions
 * (soft locking), but unlike scipy's lobpcg they come back when the residual grows again: within a
 * cluster of (nearly) equal eigenvalues the Rayleigh-Ritz step rotates converged and unconverged vectors
 * into each other, and with permanent locking the residual spread into the locked ones was never removed
 * (measured: 51 iterations instead of 7 on 50 separated blobs, eigenvalue 1 fifty times).
 *
 * Numerical care follows Hetmaniuk and Lehoucq 2006 ("Basis selection in LOBPCG", J. Comput. Phys. 218)
 * and Duersch, Shao, Yang and Gu 2018 ("A robust and efficient implementation of LOBPCG", SIAM J. Sci.
 * Comput. 40(5)): X and P are kept orthonormal and orthogonal to each other, the new P is built in the
 * small coefficient space as the part of the implicit direction orthogonal to the new X, and R is
 * orthogonalised against [X P] explicitly. The basis is then close to orthonormal, so its Gram matrix is
 * well conditioned even when it is computed in float32; without this, nearly dependent directions gave
 * spurious Ritz values and stagnation in float32.
 *
 * Block vectors are row-major `size x columns` arrays (row i holds every vector's entry i), the layout in
 * which a sparse operator multiplies fastest. When a fast kernel is given and the problem is big enough to
 * gain from it, blocks are stored in float32 and the tall products run on the kernel; the attainable
 * residual is then about 1e-6 of the operator's norm, below the default tolerance for such sizes.
 */
import { type LongWorkOptions, throwIfCancelled, yieldToEventLoop } from '../util/progress';
import { deriveSeed, type RandomSource, seededRandom } from '../util/random';
import { multiply, solveLowerInPlace, solveLowerTransposedInPlace, symmetricEigen, transpose } from './linear-algebra';
import type { MatrixKernel } from './matrix-kernel';

/** A row-major block of vectors (size x columns) in either precision. */
export type BlockVectors = Float64Array | Float32Array;

/** A symmetric linear operator A of order `size`, given by its action on a block of vectors. */
export interface SymmetricOperator {
  /** Order of the operator: the length of each vector. */
  size: number;
  /** Returns A X for the row-major block X (size x columns). */
  multiply(block: BlockVectors, columns: number): BlockVectors;
}

/** Settings of an LOBPCG solve. */
export interface LobpcgOptions extends LongWorkOptions {
  /** Number of largest eigenpairs wanted, 1..size. */
  count: number;
  /**
   * Vectors iterated together, at least `count`. A few more than wanted speed up convergence of the last
   * wanted ones (the rate depends on the gap to eigenvalue blockSize + 1) at a cost per iteration that grows
   * with the square of the block. Default count + max(2, ceil(count / 10)), capped by size.
   */
  blockSize?: number;
  /** Stop when every wanted vector's residual norm |A x - theta x| is below this. Default sqrt(2^-52) * size, scipy's choice. */
  tolerance?: number;
  /** Upper bound on iterations; the best approximations so far are returned when it is reached. Default 1000. */
  maxIterations?: number;
  /** Seed of the random start; the same seed gives the same result. Default 0. */
  seed?: number;
  /** Start vectors (row-major size x initialColumns) that replace the first random ones, such as a known eigenvector. */
  initialVectors?: BlockVectors;
  /** Number of columns in `initialVectors`; default 0. */
  initialColumns?: number;
  /** Kernel for tall dense products (float32); without one, everything runs in float64 JavaScript. */
  kernel?: MatrixKernel;
  /**
   * Transforms the start block (size x blockSize) before the first Rayleigh-Ritz step, for instance a few
   * steps of a polynomial in A that damp the unwanted eigenvectors, which saves iterations when the
   * polynomial is cheaper than an iteration. If the filtered columns are too close to dependent to resolve,
   * the solver starts from the unfiltered block instead.
   */
  filterStart?: (block: BlockVectors, columns: number) => BlockVectors;
}

/** Eigenvalues in descending order, their unit eigenvectors as the columns of `vectors` (size x count, row-major). */
export interface LobpcgResult {
  values: Float64Array;
  vectors: Float64Array;
  /** |A x - theta x| of each returned vector. */
  residualNorms: Float64Array;
  iterations: number;
  converged: boolean;
}

// Below this many multiply-adds per Gram product a float64 JavaScript loop is about as fast as the kernel
// with its copies, and more precise.
const KERNEL_MIN_WORK = 1 << 22;

/** Standard normal draws by the Box-Muller transform. */
function normalSource(random: RandomSource): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}

/** Transposes a row-major rows x columns block into `target` (columns x rows) at `offset`, in cache-sized tiles. */
function transposeInto(block: BlockVectors, rows: number, columns: number, target: Float32Array, offset: number): void {
  const tile = 64;
  for (let rowTile = 0; rowTile < rows; rowTile += tile) {
    const rowEnd = Math.min(rows, rowTile + tile);
    for (let columnTile = 0; columnTile < columns; columnTile += tile) {
      const columnEnd = Math.min(columns, columnTile + tile);
      for (let row = rowTile; row < rowEnd; row++) {
        const source = row * columns;
        for (let column = columnTile; column < columnEnd; column++) target[offset + column * rows + row] = block[source + column]!;
      }
    }
  }
}

/**
 * Dense products of tall blocks (size rows) in float64 JavaScript or, for big problems, in float32 on the
 * kernel. The kernel computes A x transpose(B) with both operands contiguous along the summed dimension,
 * so Gram products (summed over the size rows) take transposed copies and block updates (summed over
 * columns) take the blocks as they are.
 */
class BlockProducts {
  readonly onKernel: boolean;

  constructor(
    private readonly size: number,
    private readonly kernel: MatrixKernel | undefined,
    largestBasis: number,
  ) {
    this.onKernel = kernel !== undefined && kernel.name !== 'javascript' && size * largestBasis * largestBasis >= KERNEL_MIN_WORK;
  }

  /** The block in the working precision (copied only when it is in the other one). */
  adopt(block: BlockVectors): BlockVectors {
    if (this.onKernel) return block instanceof Float32Array ? block : Float32Array.from(block);
    return block instanceof Float64Array ? block : Float64Array.from(block);
  }

  /** A new zeroed block in the working precision. */
  allocate(length: number): BlockVectors {
    return this.onKernel ? new Float32Array(length) : new Float64Array(length);
  }

  /**
   * Smallest squared remaining norm, relative to the column's own, for a column to count as independent in
   * a Gram matrix. Float32 Gram entries carry errors up to about 2e-5, and a direction whose remaining norm
   * squared is not well above that would be scaled up together with its error.
   */
  get dependenceFloor(): number {
    return this.onKernel ? 1e-3 : 1e-10;
  }

  /** A^T B (p x q) for tall blocks A (size x p) and B (size x q). */
  async gram(a: BlockVectors, p: number, b: BlockVectors, q: number): Promise<Float64Array> {
    return this.grams([[a, p]], [[b, q]]);
  }

  /**
   * [A1 A2 ...]^T [B1 B2 ...] for tall blocks given as parts (block, columns): one kernel product for the
   * whole matrix, so the basis never has to be copied into one wide block.
   */
  async grams(left: readonly (readonly [BlockVectors, number])[], right: readonly (readonly [BlockVectors, number])[]): Promise<Float64Array> {
    const p = left.reduce((sum, [, columns]) => sum + columns, 0);
    const q = right.reduce((sum, [, columns]) => sum + columns, 0);
    const result = new Float64Array(p * q);
    if (this.onKernel) {
      // [A^T; B^T] stacked in one buffer; when B starts with A's parts they are shared.
      const shared = left.length <= right.length && left.every((part, index) => right[index]![0] === part[0] && right[index]![1] === part[1]);
      const rows = shared ? q : p + q;
      const stacked = new Float32Array(rows * this.size);
      let offset = 0;
      for (const [block, columns] of shared ? right : [...left, ...right]) {
        transposeInto(block, this.size, columns, stacked, offset * this.size);
        offset += columns;
      }
      const rightStart = shared ? 0 : p;
      const product = await this.kernel!.multiplyTransposed(stacked, p, stacked.subarray(rightStart * this.size), q, this.size);
      for (let index = 0; index < result.length; index++) result[index] = product[index]!;
      return result;
    }
    const leftRow = new Float64Array(p);
    const rightRow = new Float64Array(q);
    for (let row = 0; row < this.size; row++) {
      let offset = 0;
      for (const [block, columns] of left) {
        for (let column = 0; column < columns; column++) leftRow[offset + column] = block[row * columns + column]!;
        offset += columns;
      }
      offset = 0;
      for (const [block, columns] of right) {
        for (let column = 0; column < columns; column++) rightRow[offset + column] = block[row * columns + column]!;
        offset += columns;
      }
      for (let i = 0; i < p; i++) {
        const value = leftRow[i]!;
        if (value === 0) continue;
        const target = i * q;
        for (let j = 0; j < q; j++) result[target + j] = result[target + j]! + value * rightRow[j]!;
      }
    }
    return result;
  }

  /** S C (size x t) for a tall block S (size x columns) and a small C (columns x t). */
  async combine(s: BlockVectors, columns: number, c: Float64Array, t: number): Promise<BlockVectors> {
    if (this.onKernel) {
      const right = new Float32Array(t * columns);
      for (let i = 0; i < columns; i++) for (let j = 0; j < t; j++) right[j * columns + i] = c[i * t + j]!;
      return this.kernel!.multiplyTransposed(s as Float32Array, this.size, right, t, columns);
    }
    const result = new Float64Array(this.size * t);
    for (let row = 0; row < this.size; row++) {
      const offset = row * columns;
      const target = row * t;
      for (let i = 0; i < columns; i++) {
        const value = s[offset + i]!;
        if (value === 0) continue;
        const cOffset = i * t;
        for (let j = 0; j < t; j++) result[target + j] = result[target + j]! + value * c[cOffset + j]!;
      }
    }
    return result;
  }

  /** U C_U + R C_R for the basis [U | R] in two parts and coefficients C (uColumns + rColumns) x t. */
  async combineParts(u: BlockVectors, uColumns: number, r: BlockVectors, rColumns: number, c: Float64Array, t: number): Promise<BlockVectors> {
    const result = await this.combine(u, uColumns, c.subarray(0, uColumns * t), t);
    if (rColumns === 0) return result;
    const rest = await this.combine(r, rColumns, c.subarray(uColumns * t), t);
    for (let index = 0; index < result.length; index++) result[index] = result[index]! + rest[index]!;
    return result;
  }
}

/**
 * Cholesky factor of a Gram matrix with unit diagonal that skips dependent columns: a column is kept when
 * the squared norm left after removing the kept ones before it is above `floor`. Equivalent to Gram-Schmidt
 * in column order, so earlier columns win and nearly redundant later ones are dropped.
 */
function droppingCholesky(gram: Float64Array, size: number, floor: number): { lower: Float64Array; kept: number[] } {
  const kept: number[] = [];
  const rows: Float64Array[] = [];
  for (let column = 0; column < size; column++) {
    const row = new Float64Array(kept.length + 1);
    for (let index = 0; index < kept.length; index++) {
      let sum = gram[column * size + kept[index]!]!;
      const other = rows[index]!;
      for (let k = 0; k < index; k++) sum -= row[k]! * other[k]!;
      row[index] = sum / other[index]!;
    }
    let remaining = gram[column * size + column]!;
    for (let k = 0; k < kept.length; k++) remaining -= row[k]! * row[k]!;
    if (remaining > floor) {
      row[kept.length] = Math.sqrt(remaining);
      kept.push(column);
      rows.push(row);
    }
  }
  const m = kept.length;
  const lower = new Float64Array(m * m);
  rows.forEach((row, index) => lower.set(row, index * m));
  return { lower, kept };
}

/** Symmetrises a square matrix and scales it to unit diagonal; returns the scale (0 for zero columns). */
function scaledSymmetric(matrix: Float64Array, size: number, scale?: Float64Array): { scaled: Float64Array; scale: Float64Array } {
  const factors = scale ?? new Float64Array(size);
  if (!scale) {
    for (let index = 0; index < size; index++) {
      const diagonal = matrix[index * size + index]!;
      factors[index] = diagonal > 0 ? 1 / Math.sqrt(diagonal) : 0;
    }
  }
  const scaled = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) scaled[i * size + j] = ((matrix[i * size + j]! + matrix[j * size + i]!) / 2) * factors[i]! * factors[j]!;
  }
  return { scaled, scale: factors };
}

/** The new [X | P] block, its image, the number of P columns and the Ritz values (descending). */
interface RitzStep {
  u: BlockVectors;
  au: BlockVectors;
  directions: number;
  values: Float64Array;
}

/**
 * Rayleigh-Ritz on the span of S = [U | R] (U = [X | P], R the orthogonalised residuals) with its image:
 * solves (S^T A S) c = theta (S^T S) c through the dropping Cholesky factor of S^T S (scaled to unit
 * diagonal), keeps the `keep` largest Ritz pairs as C, and builds the new directions from the implicit
 * ones, C with its X rows zeroed (for the `active` vectors only): made S^T S-orthogonal to C and
 * orthonormal in the small coefficient space, so the new P is orthonormal and orthogonal to the new X
 * without touching tall blocks. Returns undefined when fewer than `keep` independent columns remain.
 */
async function rayleighRitz(
  products: BlockProducts,
  u: BlockVectors,
  au: BlockVectors,
  uColumns: number,
  r: BlockVectors,
  ar: BlockVectors,
  rColumns: number,
  keep: number,
  active: readonly number[],
): Promise<RitzStep | undefined> {
  const width = uColumns + rColumns;
  const parts = [[u, uColumns], [r, rColumns]] as const;
  const both = await products.grams(parts, [...parts, [au, uColumns], [ar, rColumns]]);
  const gramS = new Float64Array(width * width);
  const gramA = new Float64Array(width * width);
  for (let i = 0; i < width; i++) {
    for (let j = 0; j < width; j++) {
      gramS[i * width + j] = both[i * 2 * width + j]!;
      gramA[i * width + j] = both[i * 2 * width + width + j]!;
    }
  }
  const { scaled: basisGram, scale } = scaledSymmetric(gramS, width);
  const { scaled: operatorGram } = scaledSymmetric(gramA, width, scale);
  const { lower, kept } = droppingCholesky(basisGram, width, products.dependenceFloor);
  const keptCount = kept.length;
  if (keptCount < keep) return undefined;
  // H = L^-1 (S^T A S)_kept L^-T; its eigenvectors q give the coefficients c = L^-T q (scaled coordinates).
  const halfReduced = new Float64Array(keptCount * keptCount);
  for (let i = 0; i < keptCount; i++) for (let j = 0; j < keptCount; j++) halfReduced[i * keptCount + j] = operatorGram[kept[i]! * width + kept[j]!]!;
  solveLowerInPlace(lower, keptCount, halfReduced, keptCount);
  const reducedOperator = new Float64Array(keptCount * keptCount);
  for (let i = 0; i < keptCount; i++) for (let j = 0; j < keptCount; j++) reducedOperator[i * keptCount + j] = halfReduced[j * keptCount + i]!;
  solveLowerInPlace(lower, keptCount, reducedOperator, keptCount);
  const { values: allValues, vectors } = symmetricEigen(reducedOperator, keptCount);
  const values = new Float64Array(keep);
  const ritz = new Float64Array(keptCount * keep);
  for (let k = 0; k < keep; k++) {
    const source = keptCount - 1 - k;
    values[k] = allValues[source]!;
    for (let row = 0; row < keptCount; row++) ritz[row * keep + k] = vectors[row * keptCount + source]!;
  }
  solveLowerTransposedInPlace(lower, keptCount, ritz, keep);

  // Directions: Y = the active columns of C with the X rows (the first `keep` of U) zeroed, minus their
  // part along C in the basis metric G (C^T G C = I), then G-orthonormalised with dependent ones dropped.
  const keptGram = new Float64Array(keptCount * keptCount);
  for (let i = 0; i < keptCount; i++) for (let j = 0; j < keptCount; j++) keptGram[i * keptCount + j] = basisGram[kept[i]! * width + kept[j]!]!;
  const activeCount = active.length;
  const implicit = new Float64Array(keptCount * activeCount);
  for (let row = 0; row < keptCount; row++) {
    if (kept[row]! < keep) continue;
    for (let index = 0; index < activeCount; index++) implicit[row * activeCount + index] = ritz[row * keep + active[index]!]!;
  }
  const gramImplicit = multiply(keptGram, implicit, keptCount, keptCount, activeCount);
  const overlap = multiply(transpose(ritz, keptCount, keep), gramImplicit, keep, keptCount, activeCount);
  const remaining = Float64Array.from(implicit);
  const along = multiply(ritz, overlap, keptCount, keep, activeCount);
  for (let index = 0; index < remaining.length; index++) remaining[index] = remaining[index]! - along[index]!;
  const directionGram = multiply(transpose(remaining, keptCount, activeCount), multiply(keptGram, remaining, keptCount, keptCount, activeCount), activeCount, keptCount, activeCount);
  // Relative to each implicit direction's own size: a direction that was almost all along C is dropped.
  const implicitNorms = multiply(transpose(implicit, keptCount, activeCount), gramImplicit, activeCount, keptCount, activeCount);
  const relativeScale = new Float64Array(activeCount);
  for (let index = 0; index < activeCount; index++) {
    const size = implicitNorms[index * activeCount + index]!;
    relativeScale[index] = size > 0 ? 1 / Math.sqrt(size) : 0;
  }
  const { scaled: relativeGram } = scaledSymmetric(directionGram, activeCount, relativeScale);
  const directionFactor = droppingCholesky(relativeGram, activeCount, products.dependenceFloor);
  const directions = directionFactor.kept.length;
  // Z = remaining_kept diag(relativeScale) L^-T, computed as (L^-1 (remaining diag)^T)^T.
  const directionRows = new Float64Array(directions * keptCount);
  directionFactor.kept.forEach((column, index) => {
    for (let row = 0; row < keptCount; row++) directionRows[index * keptCount + row] = remaining[row * activeCount + column]! * relativeScale[column]!;
  });
  solveLowerInPlace(directionFactor.lower, directions, directionRows, keptCount);

  // Coefficients of [X_new | P_new] on the full basis, back in unscaled coordinates.
  const outColumns = keep + directions;
  const coefficients = new Float64Array(width * outColumns);
  kept.forEach((column, row) => {
    for (let k = 0; k < keep; k++) coefficients[column * outColumns + k] = ritz[row * keep + k]! * scale[column]!;
    for (let k = 0; k < directions; k++) coefficients[column * outColumns + keep + k] = directionRows[k * keptCount + row]! * scale[column]!;
  });
  return {
    u: await products.combineParts(u, uColumns, r, rColumns, coefficients, outColumns),
    au: await products.combineParts(au, uColumns, ar, rColumns, coefficients, outColumns),
    directions,
    values,
  };
}

/** Dense fallback for small orders, where LOBPCG is unreliable (scipy switches at size < 5 x block as well). */
function denseLargest(operator: SymmetricOperator, count: number): LobpcgResult {
  const size = operator.size;
  const identity = new Float64Array(size * size);
  for (let index = 0; index < size; index++) identity[index * size + index] = 1;
  const matrix = Float64Array.from(operator.multiply(identity, size));
  const { values, vectors } = symmetricEigen(matrix, size);
  const resultValues = new Float64Array(count);
  const resultVectors = new Float64Array(size * count);
  for (let k = 0; k < count; k++) {
    const source = size - 1 - k;
    resultValues[k] = values[source]!;
    for (let row = 0; row < size; row++) resultVectors[row * count + k] = vectors[row * size + source]!;
  }
  return { values: resultValues, vectors: resultVectors, residualNorms: new Float64Array(count), iterations: 0, converged: true };
}

// The loops over tall blocks live in small functions of their own: inside the long async solver V8
// compiled them about four times slower (measured 12 ms against 3 ms for a 10000 x 55 block).

/** Residuals A x - theta x of the first `columns` vectors of U (row stride uColumns) into `out`, with squared norms. */
function residualBlock(u: BlockVectors, au: BlockVectors, uColumns: number, values: Float64Array, columns: number, out: BlockVectors, norms: Float64Array): void {
  norms.fill(0);
  const rows = out.length / columns;
  for (let row = 0; row < rows; row++) {
    const offset = row * uColumns;
    const target = row * columns;
    for (let column = 0; column < columns; column++) {
      const value = au[offset + column]! - u[offset + column]! * values[column]!;
      out[target + column] = value;
      norms[column] = norms[column]! + value * value;
    }
  }
}

/** Copies the listed columns of a block with `columns` columns into `out` (rows x pick.length). */
function copyColumns(block: BlockVectors, columns: number, pick: readonly number[], out: BlockVectors): void {
  const width = pick.length;
  const rows = out.length / width;
  for (let row = 0; row < rows; row++) {
    for (let index = 0; index < width; index++) out[row * width + index] = block[row * columns + pick[index]!]!;
  }
}

/** block <- block - along, then each column scaled to unit norm (zero columns stay zero). */
function subtractAndNormalize(block: BlockVectors, along: BlockVectors, columns: number): void {
  const rows = block.length / columns;
  const lengths = new Float64Array(columns);
  for (let row = 0; row < rows; row++) {
    const offset = row * columns;
    for (let index = 0; index < columns; index++) {
      const value = block[offset + index]! - along[offset + index]!;
      block[offset + index] = value;
      lengths[index] = lengths[index]! + value * value;
    }
  }
  for (let index = 0; index < columns; index++) lengths[index] = lengths[index]! > 0 ? 1 / Math.sqrt(lengths[index]!) : 0;
  for (let row = 0; row < rows; row++) {
    const offset = row * columns;
    for (let index = 0; index < columns; index++) block[offset + index] = block[offset + index]! * lengths[index]!;
  }
}

/**
 * Finds the `count` largest eigenvalues and eigenvectors of a symmetric operator.
 *
 * // multiply(X) scales row i of X by (i + 1) / 1000: eigenvalues 0.001, 0.002, ..., 1
 * await lobpcg({ size: 1000, multiply }, { count: 3, seed: 1 })
 * // { values: Float64Array [1, 0.999, 0.998], vectors: Float64Array(3000), residualNorms, iterations: 81, converged: true }
 */
export async function lobpcg(operator: SymmetricOperator, options: LobpcgOptions): Promise<LobpcgResult> {
  const size = operator.size;
  const { count, signal, onProgress, seed = 0 } = options;
  if (!Number.isInteger(count) || count < 1 || count > size) throw new Error(`Cannot find ${count} eigenvectors of an operator of order ${size}.`);
  const blockSize = Math.min(size, Math.max(count, options.blockSize ?? count + Math.max(2, Math.ceil(count / 10))));
  const tolerance = options.tolerance ?? Math.sqrt(2 ** -52) * size;
  const maxIterations = options.maxIterations ?? 1000;
  if (size < 5 * blockSize + 1) return denseLargest(operator, count);
  const products = new BlockProducts(size, options.kernel, 3 * blockSize);
  const multiply = (block: BlockVectors, columns: number): BlockVectors => products.adopt(operator.multiply(block, columns));

  // Random start, with the given vectors in the first columns.
  const normal = normalSource(seededRandom(deriveSeed(seed, 0)));
  const start = products.allocate(size * blockSize);
  for (let index = 0; index < start.length; index++) start[index] = normal();
  const initialColumns = Math.min(options.initialColumns ?? 0, blockSize);
  if (options.initialVectors && initialColumns > 0) {
    for (let row = 0; row < size; row++) {
      for (let column = 0; column < initialColumns; column++) start[row * blockSize + column] = options.initialVectors[row * initialColumns + column]!;
    }
  }
  const empty = products.allocate(0);
  let first: RitzStep | undefined;
  if (options.filterStart) {
    // A strong filter can leave some columns too small to resolve in float32; then start unfiltered.
    const filtered = products.adopt(options.filterStart(start.slice(), blockSize));
    first = await rayleighRitz(products, filtered, multiply(filtered, blockSize), blockSize, empty, empty, 0, blockSize, []);
  }
  first ??= await rayleighRitz(products, start, multiply(start, blockSize), blockSize, empty, empty, 0, blockSize, []);
  if (!first) throw new Error('The start vectors of the eigensolver are linearly dependent.');
  // U = [X | P]: the Ritz vectors (descending Ritz values) and the directions, side by side in each row.
  let { u, au, values } = first;
  let uColumns = blockSize + first.directions;
  const active = new Uint8Array(blockSize).fill(1);
  const residualNorms = new Float64Array(blockSize);
  let iterations = 0;
  let converged = false;
  let bestFraction = 0;

  for (;;) {
    throwIfCancelled(signal);
    // Residuals A x - theta x of every vector, for their norms; the active ones become R below.
    const residuals = products.allocate(size * blockSize);
    residualBlock(u, au, uColumns, values, blockSize, residuals, residualNorms);
    let wantedConverged = 0;
    for (let column = 0; column < blockSize; column++) {
      residualNorms[column] = Math.sqrt(residualNorms[column]!);
      active[column] = residualNorms[column]! > tolerance ? 1 : 0;
      if (column < count && residualNorms[column]! <= tolerance) wantedConverged++;
    }
    bestFraction = Math.max(bestFraction, wantedConverged / count);
    onProgress?.({ fraction: bestFraction, message: `Eigenvectors: iteration ${iterations}, ${wantedConverged} of ${count} converged` });
    if (wantedConverged === count) {
      converged = true;
      break;
    }
    if (iterations >= maxIterations) break;
    const activeColumns: number[] = [];
    for (let column = 0; column < blockSize; column++) if (active[column]) activeColumns.push(column);
    iterations++;

    // R: the active residuals, orthogonalised against [X | P] and normalised.
    const activeCount = activeColumns.length;
    let residual = residuals;
    if (activeCount < blockSize) {
      residual = products.allocate(size * activeCount);
      copyColumns(residuals, blockSize, activeColumns, residual);
    }
    const overlap = await products.gram(u, uColumns, residual, activeCount);
    subtractAndNormalize(residual, await products.combine(u, uColumns, overlap, activeCount), activeCount);
    const residualImages = multiply(residual, activeCount);

    const step = await rayleighRitz(products, u, au, uColumns, residual, residualImages, activeCount, blockSize, activeColumns);
    if (!step) break;
    ({ u, au, values } = step);
    uColumns = blockSize + step.directions;
    await yieldToEventLoop();
  }

  const vectors = new Float64Array(size * count);
  for (let row = 0; row < size; row++) for (let column = 0; column < count; column++) vectors[row * count + column] = u[row * uColumns + column]!;
  return { values: values.slice(0, count), vectors, residualNorms: residualNorms.slice(0, count), iterations, converged };
}
