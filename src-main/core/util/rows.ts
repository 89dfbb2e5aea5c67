/** Rows of row-major float32 matrices (one vector per row), as the clustering and training code keeps them. */

/**
 * Copies the listed rows of a row-major matrix with `dims` columns into a new one, in the order listed.
 *
 * gatherRows(Float32Array.of(1, 2, 3, 4, 5, 6), 2, [2, 0]) // Float32Array [5, 6, 1, 2]
 */
export function gatherRows(data: Float32Array, dims: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * dims);
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]!;
    out.set(data.subarray(row * dims, (row + 1) * dims), index * dims);
  }
  return out;
}

/**
 * Squared Euclidean norms of the first `count` rows, in float64.
 *
 * squaredRowNorms(Float32Array.of(3, 4, 1, 0), 2, 2) // Float64Array [25, 1]
 */
export function squaredRowNorms(data: Float32Array, count: number, dims: number): Float64Array {
  const norms = new Float64Array(count);
  for (let row = 0; row < count; row++) {
    let sum = 0;
    const offset = row * dims;
    for (let index = 0; index < dims; index++) sum += data[offset + index]! * data[offset + index]!;
    norms[row] = sum;
  }
  return norms;
}
