/** Counts of one fault section: inputs tried and reported correctly, faults injected, checks that found data lost. */

/** Details quote command output; the report keeps each note on one line. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' | ');
}

/** One row of the fault table. */
export interface SectionResult {
  name: string;
  inputsTried: number;
  reportedCorrectly: number;
  faultsInjected: number;
  dataLost: number;
  /** Every wrong report or failed data check, plus notes on what was seen or not covered. */
  notes: string[];
  seconds: number;
}

/** Collects a section's counts as it runs. */
export class Tally {
  readonly result: SectionResult;
  #started = performance.now();

  constructor(name: string) {
    this.result = { name, inputsTried: 0, reportedCorrectly: 0, faultsInjected: 0, dataLost: 0, notes: [], seconds: 0 };
  }

  /** One input tried; `correct` when the app reported its outcome as expected. */
  input(label: string, correct: boolean, detail = ''): boolean {
    this.result.inputsTried++;
    if (correct) this.result.reportedCorrectly++;
    else this.result.notes.push(`WRONG REPORT ${label}${detail ? `: ${oneLine(detail)}` : ''}`);
    return correct;
  }

  /** One fault injected (a kill, a full or read-only disk). */
  fault(): void {
    this.result.faultsInjected++;
  }

  /** A check that data survived; each failure counts as data lost. */
  data(label: string, ok: boolean, detail = ''): boolean {
    if (!ok) {
      this.result.dataLost++;
      this.result.notes.push(`DATA LOST ${label}${detail ? `: ${oneLine(detail)}` : ''}`);
    }
    return ok;
  }

  /** A remark for the report (what happened, what was not covered). */
  note(text: string): void {
    this.result.notes.push(text);
  }

  /** Stops the clock and returns the row. */
  finish(): SectionResult {
    this.result.seconds = (performance.now() - this.#started) / 1000;
    return this.result;
  }
}
