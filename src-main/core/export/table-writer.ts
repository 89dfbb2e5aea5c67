/** Writes a header and rows as one RFC 4180 text, ready to save as a .csv (or .tsv) file. */
import { csvRow, type CsvValue } from './csv';
import { spreadsheetSafeCell } from './spreadsheet-safe';

/** A field separator a spreadsheet recognises: `;` for locales whose decimal separator is a comma, tab for .tsv. */
export type TableDelimiter = ',' | ';' | '\t';

/** How `writeTable` lays out the text. */
export interface TableOptions {
  /** Field separator; default `,`. */
  delimiter?: TableDelimiter;
  /** Starts the text with a UTF-8 byte order mark, which Excel needs to read accents as UTF-8; default false. */
  bom?: boolean;
  /** Quotes text cells a spreadsheet would run as formulas (see `neutraliseFormula`); default true. */
  neutraliseFormulas?: boolean;
}

/**
 * Joins a header and rows into RFC 4180 text: CRLF line ends, fields quoted only when they must be, numbers
 * written as numbers, null and undefined as empty cells.
 *
 * writeTable(['name', 'distance'], [['=x', -0.5]]) // "name,distance\r\n'=x,-0.5\r\n"
 */
export function writeTable(
  columns: readonly string[],
  rows: readonly (readonly CsvValue[])[],
  options: TableOptions = {},
): string {
  const delimiter = options.delimiter ?? ',';
  const safe = options.neutraliseFormulas ?? true;
  const line = (values: readonly CsvValue[]) => csvRow(safe ? values.map(spreadsheetSafeCell) : values, delimiter);
  const lines = [line(columns)];
  rows.forEach((row, index) => {
    // A short or long row would shift every later cell under the wrong header; fail loudly instead.
    if (row.length !== columns.length) {
      throw new RangeError(`Row ${index} has ${row.length} cells but the table has ${columns.length} columns`);
    }
    lines.push(line(row));
  });
  return (options.bom ? '\uFEFF' : '') + lines.join('');
}
