/** CSV writing per RFC 4180: comma-separated, CRLF line ends, fields quoted when they need it. */

/** A value a CSV cell can hold; null and undefined become empty cells. */
export type CsvValue = string | number | null | undefined;

/** Quotes a field when it holds the delimiter, a quote, CR or LF; doubles inner quotes. */
export function csvField(value: CsvValue, delimiter = ','): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value;
  if (text.includes(delimiter) || text.includes('"') || text.includes('\n') || text.includes('\r')) {
    return `"${text.replaceAll('"', '""')}"`;
  }
  return text;
}

/** One CSV record, ending in CRLF. */
export function csvRow(values: readonly CsvValue[], delimiter = ','): string {
  return `${values.map((value) => csvField(value, delimiter)).join(delimiter)}\r\n`;
}

/**
 * Parses RFC 4180 CSV text into rows of fields (quoted fields may hold delimiters, quotes and newlines).
 *
 * parseCsv('a,"b,c"\r\n1,2\r\n') // [['a', 'b,c'], ['1', '2']]
 */
export function parseCsv(text: string, delimiter = ','): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let index = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; index < text.length; index++) {
    const char = text[index]!;
    if (quoted) {
      if (char === '"') {
        if (text[index + 1] === '"') {
          field += '"';
          index++;
        } else quoted = false;
      } else field += char;
    } else if (char === '"' && field === '') quoted = true;
    else if (char === delimiter) {
      row.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[index + 1] === '\n') index++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += char;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
