/**
 * Guards exported text against spreadsheet formula injection.
 *
 * Excel, LibreOffice Calc and Google Sheets read a cell that starts with `=`, `+`, `-` or `@` as a formula, so a
 * file name such as `=HYPERLINK("http://…")` in an export could run when an ecologist opens the CSV. OWASP's CSV
 * injection guidance (https://owasp.org/www-community/attacks/CSV_Injection) also lists a leading tab and carriage
 * return, and says to prefix such cells with a single quote, which the spreadsheet shows as text.
 */
import type { CsvValue } from './csv';

/** Leading characters that make a spreadsheet read a cell as a formula (OWASP's list). */
export const FORMULA_TRIGGERS: readonly string[] = ['=', '+', '-', '@', '\t', '\r'];

/**
 * Prefixes text that a spreadsheet would read as a formula with a single quote; other text is unchanged.
 *
 * neutraliseFormula('=1+1') // "'=1+1"
 * neutraliseFormula('Agrotis ipsilon') // 'Agrotis ipsilon'
 */
export function neutraliseFormula(text: string): string {
  return startsWithTrigger(text) ? `'${text}` : text;
}

/**
 * Makes one cell value safe: text is neutralised, numbers pass unchanged.
 *
 * Numbers are values this app computed (a distance of -0.5, a cluster id), not text a user or file system
 * supplied, so they cannot carry a formula; quoting them would turn them into text in the spreadsheet. Text that
 * merely looks numeric (a species label `-0.5`) is still neutralised, because only the type says who wrote it.
 */
export function spreadsheetSafeCell(value: CsvValue): CsvValue {
  return typeof value === 'string' ? neutraliseFormula(value) : value;
}

/**
 * Undoes `neutraliseFormula`: drops a single quote that precedes a formula trigger, so files this app exported
 * can be read back with their original text.
 *
 * restoreNeutralised("'=1+1") // '=1+1'
 * restoreNeutralised("'t Hooft") // "'t Hooft" (no trigger after the quote, so the quote is the user's)
 */
export function restoreNeutralised(text: string): string {
  return text.startsWith("'") && startsWithTrigger(text.slice(1)) ? text.slice(1) : text;
}

function startsWithTrigger(text: string): boolean {
  return text.length > 0 && FORMULA_TRIGGERS.includes(text[0]!);
}
