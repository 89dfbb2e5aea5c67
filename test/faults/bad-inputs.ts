/**
 * Bad inputs: the corpus of scripts/make-bad-inputs.mjs imported by `specimen-sorter import --json`, as root
 * and (through setpriv) as `nobody`, since root reads files whatever their mode. Each manifest entry is an
 * input; it is reported correctly when the printed summary and the database agree with the manifest.
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { canRunAs, REPOSITORY, runCli, runNode } from './processes';
import { integrity, readProject } from './project-database';
import { Tally } from './tally';
import type { ManifestEntry, Outcome } from '../helpers/bad-input-manifest';


interface Summary {
  imported: number;
  failed: number;
  errors: { path: string; reason: string }[];
}

interface ImageRow {
  path: string;
  sha256: string | null;
  width: number | null;
  height: number | null;
  status: string;
}

const NOBODY = 65534;

/** Writes the corpus under `folder`/corpus; returns the corpus path and its manifest. */
export async function makeCorpus(folder: string): Promise<{ corpus: string; manifest: ManifestEntry[] }> {
  const corpus = path.join(folder, 'corpus');
  const made = await runNode(path.join(REPOSITORY, 'scripts', 'make-bad-inputs.mjs'), [corpus]);
  if (made.code !== 0) throw new Error(`make-bad-inputs.mjs failed: ${made.stderr}`);
  const manifest = (JSON.parse(readFileSync(path.join(corpus, 'manifest.json'), 'utf8')) as { entries: ManifestEntry[] }).entries;
  return { corpus, manifest };
}

/** Gives back the permissions the corpus took away on purpose, so it can be deleted. */
export function restoreCorpus(corpus: string, manifest: ManifestEntry[]): void {
  for (const entry of manifest) {
    if (entry.mode === undefined) continue;
    const file = path.join(corpus, ...entry.path.split('/'));
    chmodSync(file, lstatSync(file).isDirectory() ? 0o755 : 0o644);
  }
}

function checkImport(tally: Tally, who: string, corpus: string, manifest: ManifestEntry[], projectFolder: string, printed: Summary, asRoot: boolean): void {
  const relative = (file: string) => path.relative(corpus, file).split(path.sep).join('/');
  const reasons = new Map(printed.errors.map((error) => [relative(error.path), error.reason]));
  const rows = readProject(projectFolder, (database) => database.prepare('SELECT path, sha256, width, height, status FROM images').all() as ImageRow[]);
  const byPath = new Map(rows.map((row) => [relative(row.path), row]));
  for (const entry of manifest) {
    const expected = asRoot ? (entry.expectedAsRoot ?? entry.expected) : entry.expected;
    const reason = reasons.get(entry.path);
    const row = byPath.get(entry.path);
    let problem = '';
    if (expected === 'failed') {
      if (reason === undefined) problem = 'no error reported';
      else if (!new RegExp(entry.reason ?? '', 'i').test(reason)) problem = `reason "${reason}" does not match /${entry.reason}/i`;
      else if (row?.status !== 'error') problem = 'no error row in the database';
    } else if (reason !== undefined) {
      problem = `unexpected error "${reason}"`;
    } else if (expected === 'skipped' && row) {
      problem = 'imported although it should be skipped';
    } else if (expected === 'imported') {
      if (row?.status !== 'ok') problem = 'no readable image row';
      else if (entry.width !== undefined && (row.width !== entry.width || row.height !== entry.height)) problem = `size ${row.width} x ${row.height}`;
      else if (entry.sameContentAs !== undefined && row.sha256 !== byPath.get(entry.sameContentAs)?.sha256) problem = 'content hash differs from its twin';
    }
    tally.input(`${who}: ${entry.path} (${expected})`, problem === '', problem);
  }
  const expectedImported = manifest.filter((entry) => (asRoot ? (entry.expectedAsRoot ?? entry.expected) : entry.expected) === 'imported').length;
  const expectedFailed = manifest.filter((entry) => (asRoot ? (entry.expectedAsRoot ?? entry.expected) : entry.expected) === 'failed').length;
  tally.input(
    `${who}: totals (nothing beyond the manifest)`,
    printed.imported === expectedImported && printed.failed === expectedFailed && printed.errors.length === printed.failed,
    `printed ${printed.imported} imported, ${printed.failed} failed; expected ${expectedImported}, ${expectedFailed}`,
  );
  const check = integrity(projectFolder);
  tally.data(`${who}: integrity_check after importing the corpus`, check === 'ok', check);
}

/** Runs the section; `corpus` comes from `makeCorpus`. */
export async function badInputs(folder: string, corpus: string, manifest: ManifestEntry[]): Promise<Tally> {
  const tally = new Tally('1. bad inputs (import --json)');
  const asRoot = process.getuid?.() === 0;
  const projectFolder = path.join(folder, 'bad-inputs-project');
  const result = await runCli(['import', corpus, '--project', projectFolder, '--json']);
  if (result.code !== 0) {
    tally.input(`import of the corpus as ${asRoot ? 'root' : 'this user'}`, false, `exit ${result.code}: ${result.stderr.slice(-500)}`);
  } else {
    checkImport(tally, asRoot ? 'root' : 'user', corpus, manifest, projectFolder, JSON.parse(result.stdout) as Summary, asRoot);
  }
  if (!asRoot) return tally;
  if (!canRunAs(NOBODY)) {
    tally.note('setpriv cannot switch to nobody here: the permission-denied entries were checked only with their root outcome.');
    return tally;
  }
  const nobodyProject = path.join(folder, 'bad-inputs-nobody-project');
  mkdirSync(nobodyProject);
  chownSync(nobodyProject, NOBODY, NOBODY);
  const asNobody = await runCli(['import', corpus, '--project', nobodyProject, '--json'], {
    user: NOBODY,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: nobodyProject },
  });
  if (asNobody.code !== 0) tally.input('import of the corpus as nobody', false, `exit ${asNobody.code}: ${asNobody.stderr.slice(-500)}`);
  else checkImport(tally, 'nobody', corpus, manifest, nobodyProject, JSON.parse(asNobody.stdout) as Summary, false);
  return tally;
}
