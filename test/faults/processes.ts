/** Real child processes for the fault run: the bundled CLI, run to the end or killed with SIGKILL mid-way. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../../src-main/core/util/random';

/** The repository root (this file is bundled into out/run/). */
export const REPOSITORY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The bundled command line and bridge (npm run build:node). */
export const CLI = path.join(REPOSITORY, 'out', 'node', 'cli.js');
export const BRIDGE = path.join(REPOSITORY, 'out', 'node', 'bridge.js');
/** Shared data and models beside the repository: read and linked to, never copied. */
export const SHARED = path.resolve(REPOSITORY, '..', 'shared');
export const ONNX_MODEL = path.join(SHARED, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.onnx');
/** 2,205 photos of 200 moth species, one folder each (plus `_meta`). */
export const MOTHS = path.join(SHARED, 'data', 'eu_moths');

/** What a finished child printed. */
export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node <script> ...args` to the end. `user` runs it as that uid/gid through setpriv. */
export function runNode(script: string, args: string[], options: { user?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ChildResult> {
  const command = options.user === undefined ? process.execPath : 'setpriv';
  const argv =
    options.user === undefined
      ? [script, ...args]
      : ['--reuid', String(options.user), '--regid', String(options.user), '--clear-groups', process.execPath, script, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: REPOSITORY, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs the bundled `specimen-sorter` command line to the end. */
export function runCli(args: string[], options: { user?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ChildResult> {
  return runNode(CLI, args, options);
}

/** A progress line `label NN% message` as the CLI writes it to stderr when it is not a terminal. */
export interface ProgressLine {
  percent: number;
  message: string;
}

/** What happened to a child that was to be killed. */
export interface KillResult extends ChildResult {
  /** True when SIGKILL was sent before the child finished on its own. */
  killed: boolean;
  /** Progress lines of `label` seen before the child died, oldest first. */
  progress: ProgressLine[];
  /** The percentage that triggered the kill, and the extra delay, for the report. */
  thresholdPercent: number;
  delayMs: number;
}

/**
 * Runs the CLI and kills it with SIGKILL at a seeded random moment once its `label` progress has started:
 * after the first progress line at or above a threshold drawn from [fromPercent, toPercent], plus a
 * random delay of up to `maxDelayMs`. stderr is a pipe, which Node writes synchronously on Linux, so a
 * line read here was written before the child went on.
 */
export function runCliAndKill(
  args: string[],
  options: { label: string; seed: number; fromPercent: number; toPercent: number; maxDelayMs?: number },
): Promise<KillResult> {
  const random = seededRandom(options.seed);
  const thresholdPercent = Math.round(options.fromPercent + random() * (options.toPercent - options.fromPercent));
  const delayMs = Math.round(random() * (options.maxDelayMs ?? 300));
  const pattern = new RegExp(`^${options.label}\\s+(\\d+)% (.*)$`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPOSITORY, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    let killed = false;
    let armed = false;
    const progress: ProgressLine[] = [];
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      stderr += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const match = pattern.exec(line);
        if (!match || killed) continue;
        progress.push({ percent: Number(match[1]), message: match[2]! });
        if (!armed && Number(match[1]) >= thresholdPercent) {
          armed = true;
          setTimeout(() => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            killed = true;
            child.kill('SIGKILL');
          }, delayMs);
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, killed: killed && signal === 'SIGKILL', progress, thresholdPercent, delayMs }));
  });
}

/** The largest `N` in progress messages like `Imported N of M` seen before a kill, or 0. */
export function lastCount(progress: ProgressLine[], pattern: RegExp): { done: number; total: number } {
  let best = { done: 0, total: 0 };
  for (const line of progress) {
    const match = pattern.exec(line.message);
    if (match) best = { done: Math.max(best.done, Number(match[1])), total: Number(match[2]) };
  }
  return best;
}

/**
 * Makes `folder` a farm of symbolic links to the moth photos (one folder per species, one link per
 * photo), so it can be moved and renamed without copying the shared data. Returns the photo count.
 */
export function linkMoths(folder: string, speciesLimit = Infinity): number {
  let count = 0;
  const species = readdirSync(MOTHS)
    .filter((name) => !name.startsWith('_') && !name.startsWith('.') && statSync(path.join(MOTHS, name)).isDirectory())
    .sort()
    .slice(0, speciesLimit);
  for (const name of species) {
    mkdirSync(path.join(folder, name), { recursive: true });
    for (const file of readdirSync(path.join(MOTHS, name)).sort()) {
      if (!/\.(jpe?g|png)$/i.test(file) || file.startsWith('.')) continue;
      symlinkSync(path.join(MOTHS, name, file), path.join(folder, name, file));
      count++;
    }
  }
  return count;
}

/** Builds out/node/ (CLI and bridge) when it is missing or older than any source file under src-main/. */
export function ensureNodeBuild(): void {
  const newestSource = (folder: string): number =>
    readdirSync(folder, { withFileTypes: true }).reduce((newest, entry) => {
      const full = path.join(folder, entry.name);
      return Math.max(newest, entry.isDirectory() ? newestSource(full) : statSync(full).mtimeMs);
    }, 0);
  const built = [CLI, BRIDGE].every((file) => existsSync(file));
  if (built && Math.min(statSync(CLI).mtimeMs, statSync(BRIDGE).mtimeMs) > newestSource(path.join(REPOSITORY, 'src-main'))) return;
  const result = spawnSync(process.execPath, [path.join(REPOSITORY, 'scripts', 'build-node.mjs')], { cwd: REPOSITORY, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm run build:node failed');
}

/** True when `setpriv` can run a command as `uid` (root only). */
export function canRunAs(uid: number): boolean {
  return process.getuid?.() === 0 && spawnSync('setpriv', ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', 'true']).status === 0;
}

/** A command's output has no JavaScript stack trace in it. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+[(:]\d+/m.test(text) || /\n\s+at (async )?\S+ \(/.test(text);
}
