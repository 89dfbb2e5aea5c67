/**
 * `npm run test:faults`: the reliability run. Real child processes and real files, no mocks: bad inputs,
 * kill -9 during long jobs, moved folders, a fuzzed bridge, full and read-only disks. Prints a table, then
 * as its last line one JSON object {inputs_tried, reported_correctly, faults_injected, data_lost}.
 * Exits 1 when any data was lost or any input was reported wrongly.
 *
 * Options: `--seed <n>` (default 20250611, or FAULT_SEED) picks the kill moments; `--only <name,...>` runs
 * some sections (bad-inputs, crash, moved, requests, disk); `--keep` leaves the temporary folder.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { badInputs, makeCorpus, restoreCorpus } from './bad-inputs';
import { badRequests } from './bad-requests';
import { crashSafety } from './crash-safety';
import { fullDisk, unmountAll } from './full-disk';
import { movedFolders } from './moved-folders';
import { ensureNodeBuild, linkMoths } from './processes';
import type { SectionResult, Tally } from './tally';

const SECTIONS = ['bad-inputs', 'crash', 'moved', 'requests', 'disk'] as const;

function table(results: SectionResult[]): string {
  const header = ['section', 'inputs tried', 'reported correctly', 'faults injected', 'data lost', 'seconds'];
  const rows = results.map((result) => [
    result.name,
    String(result.inputsTried),
    String(result.reportedCorrectly),
    String(result.faultsInjected),
    String(result.dataLost),
    result.seconds.toFixed(1),
  ]);
  const total = (key: 'inputsTried' | 'reportedCorrectly' | 'faultsInjected' | 'dataLost') => String(results.reduce((sum, result) => sum + result[key], 0));
  rows.push(['total', total('inputsTried'), total('reportedCorrectly'), total('faultsInjected'), total('dataLost'), results.reduce((sum, result) => sum + result.seconds, 0).toFixed(1)]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.slice(0, -1).map(line), widths.map((width) => '-'.repeat(width)).join('  '), line(rows.at(-1)!)].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { seed: { type: 'string' }, only: { type: 'string' }, keep: { type: 'boolean' } },
    strict: true,
  });
  const seed = Number(values.seed ?? process.env.FAULT_SEED ?? 20250611);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a whole number, not ${values.seed}`);
  const only = new Set(values.only ? values.only.split(',') : SECTIONS);
  for (const name of only) if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`Unknown section ${name}; available: ${SECTIONS.join(', ')}`);
  const started = performance.now();
  ensureNodeBuild();
  const folder = mkdtempSync(path.join(os.tmpdir(), 'specimen-faults-'));
  // Readable by `nobody`, for the runs through setpriv (mkdtemp makes folders 0700).
  chmodSync(folder, 0o755);
  const log = (text: string) => process.stdout.write(`${text}\n`);
  log(`Fault run in ${folder}, seed ${seed}`);
  const results: SectionResult[] = [];
  const mounts: string[] = [];
  const cleanups: (() => void)[] = [];
  // Interrupted from the keyboard: leave no tmpfs mounted and no unreadable corpus behind.
  const interrupt = () => {
    unmountAll(mounts);
    for (const cleanup of cleanups) cleanup();
    if (!values.keep) rmSync(folder, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const run = async (name: string, section: () => Promise<Tally>) => {
    log(`- ${name} ...`);
    const result = (await section()).finish();
    results.push(result);
    log(`  ${result.reportedCorrectly}/${result.inputsTried} reported correctly, ${result.faultsInjected} faults, ${result.dataLost} data lost (${result.seconds.toFixed(1)} s)`);
  };
  try {
    if (only.has('bad-inputs')) {
      await run('bad inputs', async () => {
        const { corpus, manifest } = await makeCorpus(folder);
        cleanups.push(() => restoreCorpus(corpus, manifest));
        return badInputs(folder, corpus, manifest);
      });
    }
    if (only.has('crash')) {
      await run('crash safety', async () => {
        const photos = path.join(folder, 'moths');
        const photoCount = linkMoths(photos);
        return crashSafety(path.join(folder, 'crash-project'), photos, photoCount, seed);
      });
    }
    if (only.has('moved')) await run('moved folders', () => movedFolders(folder));
    if (only.has('requests')) {
      await run('bad requests', async () => {
        const photos = path.join(folder, 'bridge-photos');
        linkMoths(photos, 1);
        return badRequests(folder, photos);
      });
    }
    if (only.has('disk')) await run('full and read-only disks', () => fullDisk(folder, mounts));
  } finally {
    unmountAll(mounts);
    for (const cleanup of cleanups) cleanup();
    if (!values.keep) rmSync(folder, { recursive: true, force: true });
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
  log('');
  for (const result of results) {
    for (const note of result.notes) log(`${result.name}: ${note}`);
  }
  log('');
  log(table(results));
  const totals = {
    inputs_tried: results.reduce((sum, result) => sum + result.inputsTried, 0),
    reported_correctly: results.reduce((sum, result) => sum + result.reportedCorrectly, 0),
    faults_injected: results.reduce((sum, result) => sum + result.faultsInjected, 0),
    data_lost: results.reduce((sum, result) => sum + result.dataLost, 0),
  };
  log(`Seed ${seed}; ${((performance.now() - started) / 1000).toFixed(1)} s in all.`);
  log(JSON.stringify(totals));
  return totals.data_lost === 0 && totals.reported_correctly === totals.inputs_tried ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`Fault run failed: ${error.stack ?? error.message}\n`);
    process.exitCode = 2;
  },
);
