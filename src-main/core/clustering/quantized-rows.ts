/**
 * Rows of a float32 matrix rounded to 8 bits, each row with its own scale, for integer matrix products.
 *
 * onnxruntime's MatMulInteger (uint8 x int8, AVX-512 VNNI here) ran at 120-140 GOP/s a core against 55-60
 * GFLOP/s for float32 Gemm on the same shapes (100,000 x 1024 rows against 160 columns), so a search that
 * only needs to know which products are smallest can rank with integers and keep exactness by bounds:
 * for x ~ x' = scale_x (code_x - 128) and c ~ c' = scale_c code_c, with residuals e_x = x - x' and
 * e_c = c - c', the error of the product is x'.e_c + e_x.c, at most |x'| |e_c| + |e_x| |c| (Cauchy-Schwarz).
 * Each row keeps |x'| and |e_x| for that bound.
 */

/** Rows as uint8 codes with a zero point of 128 (the left operand of MatMulInteger). */
export interface RowCodes {
  /** [count, dims] row-major: round(x / scale) + 128, in 1..255. */
  codes: Uint8Array;
  /** Per row: x is approximately scale x (code - 128). */
  scales: Float32Array;
  count: number;
  dims: number;
}

/** Row codes with what bounds their rounding error. */
export interface QuantizedRows extends RowCodes {
  /** Per row: |x'|, the norm of the rounded row. */
  magnitudes: Float32Array;
  /** Per row: |x - x'|, the norm of the rounding error. */
  errors: Float32Array;
}

/** What quantizeRows learns of the original rows on the way, so callers need not read them again. */
export interface RowStatistics {
  /** Per row: |x|^2 in float64. */
  squaredNorms: Float64Array;
  /** Per column: the sum over the rows, in float64. */
  columnSums: Float64Array;
}

/** Columns as int8 codes, transposed to [dims, columns] (the right operand of MatMulInteger). */
export interface QuantizedColumns {
  /** [dims, columns] row-major: round(c / scale), in -127..127. */
  codes: Int8Array;
  /** Per column: c is approximately scale x code. */
  scales: Float32Array;
  columns: number;
  dims: number;
}

/** What bounds the rounding error of quantized columns. */
export interface ColumnBounds {
  /** The largest |c| over the columns (of the original, not the rounded, vectors). */
  largestNorm: number;
  /** The largest |c - c'| over the columns. */
  largestError: number;
}

/** The zero point of QuantizedRows codes. */
export const ROW_ZERO_POINT = 128;

/**
 * Rounds each row to 8 bits with a scale of its largest magnitude over 127, and returns the rows' squared
 * norms and column sums from the same pass over the data (one read of 0.8 GB at N = 200,000, D = 1024).
 *
 * quantizeRows(Float32Array.of(1, -0.25, 0, 0), 2, 2).codes // Uint8Array [255, 96, 128, 128] (scales [1/127, 1])
 */
export function quantizeRows(data: Float32Array, count: number, dims: number): QuantizedRows & RowStatistics {
  const codes = new Uint8Array(count * dims);
  const scales = new Float32Array(count);
  const magnitudes = new Float32Array(count);
  const errors = new Float32Array(count);
  const squaredNorms = new Float64Array(count);
  const columnSums = new Float64Array(dims);
  for (let row = 0; row < count; row++) {
    const offset = row * dims;
    let largest = 0;
    let squaredNorm = 0;
    for (let index = 0; index < dims; index++) {
      const value = data[offset + index]!;
      squaredNorm += value * value;
      columnSums[index] = columnSums[index]! + value;
      const magnitude = Math.abs(value);
      if (magnitude > largest) largest = magnitude;
    }
    // An all-zero row keeps scale 1 and codes 128.
    const scale = Math.fround(largest > 0 ? largest / 127 : 1);
    const inverse = 1 / scale;
    // With integer codes q: |x'|^2 = scale^2 q.q and |x - x'|^2 = |x|^2 - 2 scale x.q + scale^2 q.q.
    let dotCodes = 0;
    let squaredCodes = 0;
    for (let index = offset; index < offset + dims; index++) {
      const value = data[index]!;
      // value x inverse lies in [-127, 127] (to float rounding), so the shifted value lies in [1.5, 255.5]
      // and truncation rounds it half up: faster than Math.round with clamps.
      const code = ((value * inverse + (ROW_ZERO_POINT + 0.5)) | 0) - ROW_ZERO_POINT;
      codes[index] = code + ROW_ZERO_POINT;
      dotCodes += value * code;
      squaredCodes += code * code;
    }
    scales[row] = scale;
    squaredNorms[row] = squaredNorm;
    magnitudes[row] = scale * Math.sqrt(squaredCodes);
    // Rounded up a little (float64 cancellation, float32 storage) so the bound never falls below the error.
    errors[row] = Math.sqrt(Math.max(0, squaredNorm - 2 * scale * dotCodes + scale * scale * squaredCodes)) * (1 + 1e-5) + 1e-7 * scale;
  }
  return { codes, scales, magnitudes, errors, count, dims, squaredNorms, columnSums };
}

/**
 * Rounds each of `columns` row-major vectors to 8 bits (scale: largest magnitude over 127) and lays the codes
 * out transposed, [dims, columns].
 *
 * quantizeColumns(Float32Array.of(2, 0, 0, 1), 2, 2).codes // Int8Array [127, 0, 0, 127]: columns (2, 0) and (0, 1)
 */
export function quantizeColumns(vectors: Float32Array, columns: number, dims: number): QuantizedColumns & ColumnBounds {
  const codes = new Int8Array(dims * columns);
  const scales = new Float32Array(columns);
  let largestNorm = 0;
  let largestError = 0;
  for (let column = 0; column < columns; column++) {
    const offset = column * dims;
    let largest = 0;
    for (let index = 0; index < dims; index++) largest = Math.max(largest, Math.abs(vectors[offset + index]!));
    const scale = Math.fround(largest > 0 ? largest / 127 : 1);
    const inverse = 1 / scale;
    let norm = 0;
    let error = 0;
    for (let index = 0; index < dims; index++) {
      const value = vectors[offset + index]!;
      // Rounds half up within [-127, 127], as in quantizeRows.
      const code = ((value * inverse + (ROW_ZERO_POINT + 0.5)) | 0) - ROW_ZERO_POINT;
      codes[index * columns + column] = code;
      norm += value * value;
      error += (value - code * scale) ** 2;
    }
    scales[column] = scale;
    largestNorm = Math.max(largestNorm, Math.sqrt(norm));
    largestError = Math.max(largestError, Math.sqrt(error));
  }
  return { codes, scales, largestNorm: largestNorm * (1 + 1e-6), largestError: largestError * (1 + 1e-6), columns, dims };
}

/**
 * Each list's members' codes as int8, transposed: the block of list l, members `listStart[l]`..`listStart[l + 1] - 1`
 * of `rows` (consecutive), lies at `listStart[l] x dims` as [dims, members], ready to be the right operand of
 * a product against the list.
 *
 * transposedBlocks(quantizeRows(Float32Array.of(1, 0, 0, 1, 1, 1), 3, 2), Int32Array.of(0, 2, 3))
 * // Int8Array [127, 0, 0, 127, 127, 127]: list 0 holds rows 0-1 as columns, list 1 row 2
 */
export function transposedBlocks(rows: RowCodes, listStart: Int32Array): Int8Array {
  const { codes, dims } = rows;
  const blocks = new Int8Array(rows.count * dims);
  for (let list = 0; list + 1 < listStart.length; list++) {
    const start = listStart[list]!;
    const members = listStart[list + 1]! - start;
    const base = start * dims;
    for (let member = 0; member < members; member++) {
      const source = (start + member) * dims;
      for (let index = 0; index < dims; index++) blocks[base + index * members + member] = codes[source + index]! - ROW_ZERO_POINT;
    }
  }
  return blocks;
}
