import { describe, expect, it } from 'vitest';
import {
  FORMULA_TRIGGERS,
  neutraliseFormula,
  restoreNeutralised,
  spreadsheetSafeCell,
} from '../../../src-main/core/export/spreadsheet-safe';

describe('neutraliseFormula', () => {
  it('quotes text starting with each OWASP trigger character', () => {
    expect(neutraliseFormula('=HYPERLINK("http://x","y")')).toBe(`'=HYPERLINK("http://x","y")`);
    expect(neutraliseFormula('+1+1')).toBe("'+1+1");
    expect(neutraliseFormula('-2+3+cmd|" /C calc"!A0')).toBe(`'-2+3+cmd|" /C calc"!A0`);
    expect(neutraliseFormula('@SUM(A1:A2)')).toBe("'@SUM(A1:A2)");
    expect(neutraliseFormula('\t=1+1')).toBe("'\t=1+1");
    expect(neutraliseFormula('\r=1+1')).toBe("'\r=1+1");
    expect(FORMULA_TRIGGERS).toEqual(['=', '+', '-', '@', '\t', '\r']);
  });

  it('leaves other text alone, including triggers that are not first', () => {
    expect(neutraliseFormula('Agrotis ipsilon')).toBe('Agrotis ipsilon');
    expect(neutraliseFormula('a=b')).toBe('a=b');
    expect(neutraliseFormula(' =1')).toBe(' =1');
    expect(neutraliseFormula("'t Hooft")).toBe("'t Hooft");
    expect(neutraliseFormula('')).toBe('');
  });
});

describe('spreadsheetSafeCell', () => {
  it('passes numbers we computed unchanged but quotes text that only looks numeric', () => {
    expect(spreadsheetSafeCell(-0.5)).toBe(-0.5);
    expect(spreadsheetSafeCell(3)).toBe(3);
    expect(spreadsheetSafeCell('-0.5')).toBe("'-0.5");
    expect(spreadsheetSafeCell(null)).toBeNull();
    expect(spreadsheetSafeCell(undefined)).toBeUndefined();
  });
});

describe('restoreNeutralised', () => {
  it('undoes neutraliseFormula for every trigger, and keeps quotes a user typed', () => {
    for (const trigger of FORMULA_TRIGGERS) {
      const text = `${trigger}x`;
      expect(restoreNeutralised(neutraliseFormula(text))).toBe(text);
    }
    expect(restoreNeutralised("'t Hooft")).toBe("'t Hooft");
    expect(restoreNeutralised("'")).toBe("'");
    expect(restoreNeutralised('plain')).toBe('plain');
  });
});
