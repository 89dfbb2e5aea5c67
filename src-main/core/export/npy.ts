/**
 * NumPy .npy files for embedding matrices, so embeddings can be analysed in Python with `numpy.load`.
 *
 * Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** NumPy pads the header so the data starts on this boundary, letting readers memory-map it aligned. */
const ALIGNMENT_BYTES = 64;

/**
 * Encodes a row-major float32 matrix as a NumPy .npy v1.0 file: little-endian `<f4`, C order.
 *
 * The bytes equal what `numpy.save` writes for the same array.
 *
 * encodeNpy(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]) // 152 bytes: 128 of magic, version and padded header, then 24 of data
 */
export function encodeNpy(data: Float32Array, shape: [number, number]): Uint8Array {
  const [rows, columns] = shape;
  if (![rows, columns].every((size) => Number.isSafeInteger(size) && size >= 0)) {
    throw new RangeError(`Shape must be two non-negative integers, got (${rows}, ${columns})`);
  }
  if (rows * columns !== data.length) {
    throw new RangeError(`Shape (${rows}, ${columns}) needs ${rows * columns} values, got ${data.length}`);
  }
  const dictionary = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${columns}), }`;
  // Magic (6) + version (2) + header length (2) + dictionary + spaces + '\n' must reach a multiple of 64.
  const unpadded = MAGIC.length + 4 + dictionary.length + 1;
  const padding = (ALIGNMENT_BYTES - (unpadded % ALIGNMENT_BYTES)) % ALIGNMENT_BYTES;
  const header = `${dictionary}${' '.repeat(padding)}\n`;
  const dataOffset = MAGIC.length + 4 + header.length;

  const bytes = new Uint8Array(dataOffset + data.length * 4);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  bytes[6] = 1; // major version
  bytes[7] = 0; // minor version
  view.setUint16(8, header.length, true);
  for (let index = 0; index < header.length; index++) bytes[10 + index] = header.charCodeAt(index);
  // DataView writes little-endian whatever the machine's byte order.
  for (let index = 0; index < data.length; index++) view.setFloat32(dataOffset + index * 4, data[index]!, true);
  return bytes;
}

/**
 * Decodes a NumPy .npy file holding a 2-D float matrix as row-major float32.
 *
 * Reads `<f4`, and `<f8` rounded to float32, in C order, format version 1.0 or 2.0. Anything else throws an Error
 * that names the problem and how to fix it in numpy.
 *
 * decodeNpy(encodeNpy(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3])) // { data: Float32Array [1, …, 6], shape: [2, 3] }
 */
export function decodeNpy(bytes: Uint8Array): { data: Float32Array; shape: [number, number] } {
  if (bytes.length < 10 || MAGIC.some((byte, index) => bytes[index] !== byte)) {
    throw new Error('Not a NumPy .npy file: the magic string \\x93NUMPY is missing');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  const minor = bytes[7]!;
  // Version 2.0 only widens the header length to 4 bytes, for headers over 64 KiB.
  let headerStart: number;
  let headerLength: number;
  if (major === 1 && minor === 0) {
    headerStart = 10;
    headerLength = view.getUint16(8, true);
  } else if (major === 2 && minor === 0 && bytes.length >= 12) {
    headerStart = 12;
    headerLength = view.getUint32(8, true);
  } else {
    throw new Error(`Unsupported .npy format version ${major}.${minor}; expected 1.0 or 2.0`);
  }
  const dataOffset = headerStart + headerLength;
  if (dataOffset > bytes.length) throw new Error('Truncated .npy file: the header runs past the end of the file');
  const header = new TextDecoder().decode(bytes.subarray(headerStart, dataOffset));

  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  const fortranOrder = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortranOrder === undefined || shapeText === undefined) {
    throw new Error(`Malformed .npy header: ${header.trim()}`);
  }
  if (fortranOrder === 'True') {
    throw new Error('Unsupported .npy array in Fortran (column-major) order; save it with numpy.ascontiguousarray');
  }
  if (descr.startsWith('>')) {
    throw new Error(`Unsupported big-endian dtype '${descr}'; convert it with array.astype('<f4')`);
  }
  if (descr !== '<f4' && descr !== '<f8') {
    throw new Error(`Unsupported dtype '${descr}'; expected float32 ('<f4') or float64 ('<f8')`);
  }
  const shape = shapeText
    .split(',')
    .map((size) => size.trim())
    .filter((size) => size !== '')
    // Python 2 wrote long integers with an L suffix, as in (3L, 4L).
    .map((size) => Number(size.replace(/L$/, '')));
  if (shape.some((size) => !Number.isSafeInteger(size) || size < 0)) {
    throw new Error(`Malformed .npy shape (${shapeText})`);
  }
  if (shape.length !== 2) {
    throw new Error(`Expected a 2-D array (rows, columns), got shape (${shapeText.trim()})`);
  }
  const [rows, columns] = shape as [number, number];

  const count = rows * columns;
  const itemBytes = descr === '<f4' ? 4 : 8;
  if (bytes.length - dataOffset !== count * itemBytes) {
    throw new Error(
      `The .npy data holds ${bytes.length - dataOffset} bytes, but shape (${rows}, ${columns}) of '${descr}' needs ${count * itemBytes}`,
    );
  }
  const data = new Float32Array(count);
  // DataView reads little-endian on any machine and needs no alignment; files from other writers may not align.
  for (let index = 0; index < count; index++) {
    const offset = dataOffset + index * itemBytes;
    data[index] = itemBytes === 4 ? view.getFloat32(offset, true) : view.getFloat64(offset, true);
  }
  return { data, shape: [rows, columns] };
}
