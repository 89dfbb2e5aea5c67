import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy } from '../../../src-main/core/export/npy';
import { temporaryFolder } from '../../helpers/fixtures';
import { runPython } from './python';

/** Values that float32 rounds (0.1, 1/3), extremes and signs; as float64 they are the exact JS doubles. */
const VALUES = [0.1, 1 / 3, -2.5, 1e-8, 3e38, -0];
const FLOAT32_VALUES = Float32Array.from(VALUES);

/** Writes reference files with numpy itself, one per case, into `folder`. */
const NUMPY_WRITER = `
import sys, numpy as np
from numpy.lib import format
folder = sys.argv[1]
values = np.array([0.1, 1 / 3, -2.5, 1e-8, 3e38, -0.0])
np.save(f'{folder}/float32.npy', values.astype('<f4').reshape(2, 3))
np.save(f'{folder}/float64.npy', values.astype('<f8').reshape(3, 2))
with open(f'{folder}/version2.npy', 'wb') as handle:
    format.write_array(handle, values.astype('<f4').reshape(2, 3), version=(2, 0))
with open(f'{folder}/version3.npy', 'wb') as handle:
    format.write_array(handle, values.astype('<f4').reshape(2, 3), version=(3, 0))
np.save(f'{folder}/fortran.npy', np.asfortranarray(values.astype('<f4').reshape(2, 3)))
np.save(f'{folder}/big-endian.npy', values.astype('>f4').reshape(2, 3))
np.save(f'{folder}/int64.npy', np.arange(6, dtype='<i8').reshape(2, 3))
np.save(f'{folder}/three-d.npy', np.zeros((1, 2, 3), dtype='<f4'))
np.save(f'{folder}/one-d.npy', np.zeros(3, dtype='<f4'))
np.save(f'{folder}/empty.npy', np.zeros((0, 4), dtype='<f4'))
print('{}')
`;

/** Loads an .npy with numpy and reports what numpy sees. */
const NUMPY_READER = `
import json, sys, numpy as np
array = np.load(sys.argv[1])
print(json.dumps({'dtype': array.dtype.str, 'shape': list(array.shape), 'cContiguous': bool(array.flags.c_contiguous),
  'values': [float(value) for value in array.ravel(order='C')]}))
`;

describe('npy', () => {
  const { folder, cleanup } = temporaryFolder('npy-');
  const numpyFile = (name: string) => readFileSync(path.join(folder, name));
  beforeAll(() => runPython(NUMPY_WRITER, [folder]));
  afterAll(cleanup);

  it('writes a v1.0 header padded so the data starts at byte 128', () => {
    const bytes = encodeNpy(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect(bytes.length).toBe(128 + 24);
    expect([...bytes.subarray(0, 10)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0]);
    const header = Buffer.from(bytes.subarray(10, 128)).toString('latin1');
    expect(header).toBe(`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }${' '.repeat(58)}\n`);
    expect([...bytes.subarray(128, 132)]).toEqual([0x00, 0x00, 0x80, 0x3f]); // 1.0f little-endian
  });

  it('round-trips values, including NaN, infinities, -0 and an empty matrix', () => {
    const data = new Float32Array([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0.1, 1e-45]);
    const decoded = decodeNpy(encodeNpy(data, [3, 2]));
    expect(decoded.shape).toEqual([3, 2]);
    expect(decoded.data).toEqual(data);
    expect(Object.is(decoded.data[3], -0)).toBe(true);
    expect(decodeNpy(encodeNpy(new Float32Array(0), [0, 4]))).toEqual({ data: new Float32Array(0), shape: [0, 4] });
  });

  it('rejects a shape that does not fit the data', () => {
    expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow('Shape (2, 3) needs 6 values, got 5');
    expect(() => encodeNpy(new Float32Array(0), [-1, 0])).toThrow('Shape must be two non-negative integers, got (-1, 0)');
    expect(() => encodeNpy(new Float32Array(2), [1.5, 1])).toThrow('Shape must be two non-negative integers, got (1.5, 1)');
  });

  it('writes the same bytes as numpy.save', () => {
    expect(Buffer.from(encodeNpy(FLOAT32_VALUES, [2, 3]))).toEqual(numpyFile('float32.npy'));
    expect(Buffer.from(encodeNpy(new Float32Array(0), [0, 4]))).toEqual(numpyFile('empty.npy'));
  });

  it('writes files numpy.load reads as C-ordered float32', () => {
    const file = path.join(folder, 'ours.npy');
    writeFileSync(file, encodeNpy(FLOAT32_VALUES, [3, 2]));
    expect(runPython(NUMPY_READER, [file])).toEqual({
      dtype: '<f4',
      shape: [3, 2],
      cContiguous: true,
      values: [...FLOAT32_VALUES],
    });
  });

  it('reads float32 and float64 files numpy wrote, rounding float64 to float32', () => {
    expect(decodeNpy(numpyFile('float32.npy'))).toEqual({ data: FLOAT32_VALUES, shape: [2, 3] });
    expect(decodeNpy(numpyFile('float64.npy'))).toEqual({ data: FLOAT32_VALUES, shape: [3, 2] });
    expect(decodeNpy(numpyFile('version2.npy'))).toEqual({ data: FLOAT32_VALUES, shape: [2, 3] });
  });

  it('reads a file that starts part-way into a larger buffer', () => {
    const bytes = numpyFile('float32.npy');
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    expect(decodeNpy(padded.subarray(3))).toEqual({ data: FLOAT32_VALUES, shape: [2, 3] });
  });

  it('names the problem with files it cannot read', () => {
    expect(() => decodeNpy(numpyFile('fortran.npy'))).toThrow(
      'Unsupported .npy array in Fortran (column-major) order; save it with numpy.ascontiguousarray',
    );
    expect(() => decodeNpy(numpyFile('big-endian.npy'))).toThrow(
      "Unsupported big-endian dtype '>f4'; convert it with array.astype('<f4')",
    );
    expect(() => decodeNpy(numpyFile('int64.npy'))).toThrow(
      "Unsupported dtype '<i8'; expected float32 ('<f4') or float64 ('<f8')",
    );
    expect(() => decodeNpy(numpyFile('three-d.npy'))).toThrow('Expected a 2-D array (rows, columns), got shape (1, 2, 3)');
    expect(() => decodeNpy(numpyFile('one-d.npy'))).toThrow('Expected a 2-D array (rows, columns), got shape (3,)');
    expect(() => decodeNpy(numpyFile('version3.npy'))).toThrow('Unsupported .npy format version 3.0; expected 1.0 or 2.0');
    expect(() => decodeNpy(new TextEncoder().encode('species,path\n'))).toThrow(
      'Not a NumPy .npy file: the magic string \\x93NUMPY is missing',
    );
    const truncated = numpyFile('float32.npy').subarray(0, -1);
    expect(() => decodeNpy(truncated)).toThrow(
      "The .npy data holds 23 bytes, but shape (2, 3) of '<f4' needs 24",
    );
  });
});
