/** Runs small Python 3 scripts as an independent reference implementation (its csv module, numpy). */
import { execFileSync } from 'node:child_process';

/** The system Python, which has numpy (Debian python3-numpy). */
export const PYTHON = '/usr/bin/python3';

/** Runs `script` with `args` in sys.argv[1:] and parses the JSON it prints. */
export function runPython(script: string, args: readonly string[] = []): unknown {
  return JSON.parse(execFileSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8' }));
}

/** Reads a CSV file with Python's csv module (utf-8-sig drops a BOM) and returns its rows. */
export function readCsvWithPython(file: string, delimiter: string): string[][] {
  const script = [
    'import csv, json, sys',
    "with open(sys.argv[1], newline='', encoding='utf-8-sig') as handle:",
    '    print(json.dumps(list(csv.reader(handle, delimiter=sys.argv[2]))))',
  ].join('\n');
  return runPython(script, [file, delimiter]) as string[][];
}
