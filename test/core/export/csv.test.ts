import { describe, expect, it } from 'vitest';
import { csvField, csvRow, parseCsv } from '../../../src-main/core/export/csv';

describe('csv', () => {
  it('quotes only fields that need it (RFC 4180)', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(1.5)).toBe('1.5');
    expect(csvRow(['a', 1, null])).toBe('a,1,\r\n');
  });

  it('round-trips awkward names through the parser', () => {
    const rows = [
      ['image_path', 'species_label'],
      ['/data/Noctuidae, misc/ä ö.jpg', 'Agrotis "ipsilon"'],
      ['/data/x\r\ny.jpg', ''],
      ['=1+1', 'Ennomos, sp.'],
    ];
    const text = rows.map((row) => csvRow(row)).join('');
    expect(parseCsv(text)).toEqual(rows);
  });
});
