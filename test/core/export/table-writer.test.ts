import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../../src-main/core/export/csv';
import { writeTable, type TableDelimiter } from '../../../src-main/core/export/table-writer';
import { temporaryFolder } from '../../helpers/fixtures';
import { readCsvWithPython } from './python';

const AWKWARD_COLUMNS = ['image_path', 'species_label', 'distance_to_center', 'cluster_id', 'error'];
const AWKWARD_ROWS = [
  ['/data/Noctuidae, misc/ä ö.jpg', 'Agrotis "ipsilon"', -0.5, 3, null],
  ['/data/two\nlines.jpg', '=HYPERLINK("http://x")', 0.125, 0, 'x\r\ny'],
  ['/data/semi;colon\ttab.jpg', '@user', 1e-7, null, '-1+1'],
];
/** What any CSV reader should see in AWKWARD_ROWS once neutralised: text quoted, numbers as written by String(). */
const AWKWARD_EXPECTED = [
  AWKWARD_COLUMNS,
  ['/data/Noctuidae, misc/ä ö.jpg', 'Agrotis "ipsilon"', '-0.5', '3', ''],
  ['/data/two\nlines.jpg', `'=HYPERLINK("http://x")`, '0.125', '0', 'x\r\ny'],
  ['/data/semi;colon\ttab.jpg', "'@user", '1e-7', '', "'-1+1"],
];

describe('writeTable', () => {
  const { folder, cleanup } = temporaryFolder('table-writer-');
  afterAll(cleanup);

  it('writes RFC 4180 text with numbers as numbers and formulas neutralised', () => {
    expect(writeTable(['name', 'distance'], [['=x', -0.5], ['a,b', null]])).toBe(
      "name,distance\r\n'=x,-0.5\r\n\"a,b\",\r\n",
    );
  });

  it('starts with a BOM when asked and uses the chosen delimiter', () => {
    expect(writeTable(['a', 'b'], [['1,5', 2.5]], { delimiter: ';', bom: true })).toBe('\uFEFFa;b\r\n1,5;2.5\r\n');
    expect(writeTable(['a', 'b'], [['\tx', 'y z']], { delimiter: '\t' })).toBe("a\tb\r\n\"'\tx\"\ty z\r\n");
  });

  it('keeps formulas when neutralising is turned off', () => {
    expect(writeTable(['a'], [['=1+1']], { neutraliseFormulas: false })).toBe('a\r\n=1+1\r\n');
  });

  it('writes only the header for no rows', () => {
    expect(writeTable(['a', 'b'], [])).toBe('a,b\r\n');
  });

  it('rejects rows whose length differs from the header', () => {
    expect(() => writeTable(['a', 'b'], [['1', '2'], ['3']])).toThrow(
      new RangeError('Row 1 has 1 cells but the table has 2 columns'),
    );
  });

  it.each<[TableDelimiter, boolean]>([
    [',', false],
    [';', true],
    ['\t', true],
  ])('round-trips awkward text through parseCsv and Python csv (delimiter %j, BOM %s)', (delimiter, bom) => {
    const text = writeTable(AWKWARD_COLUMNS, AWKWARD_ROWS, { delimiter, bom });
    expect(parseCsv(text, delimiter)).toEqual(AWKWARD_EXPECTED);
    const file = path.join(folder, `table-${AWKWARD_COLUMNS.length}-${delimiter.charCodeAt(0)}.csv`);
    writeFileSync(file, text, 'utf8');
    expect(readCsvWithPython(file, delimiter)).toEqual(AWKWARD_EXPECTED);
  });
});
