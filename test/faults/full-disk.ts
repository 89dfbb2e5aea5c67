/**
 * Full and read-only disks: projects on small tmpfs mounts. Root ignores chmod, so the faults are real file
 * system limits: a 2 MB tmpfs (the database hits ENOSPC / SQLITE_FULL mid-import), a tmpfs with few inodes
 * (thumbnails hit ENOSPC while the database still has room), and a tmpfs remounted read-only. As `nobody`, a
 * chmod-ed read-only project is tried too. Each command must fail with a clear message and no stack trace,
 * and the database must pass integrity_check with the earlier data intact.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { canRunAs, hasStackTrace, linkMoths, ONNX_MODEL, runCli, type ChildResult } from './processes';
import { count, integrity, readProject } from './project-database';
import { Tally } from './tally';

const NOBODY = 65534;

function mount(args: string[]): boolean {
  return spawnSync('mount', args, { stdio: 'ignore' }).status === 0;
}

/** Unmounts, retrying briefly while a just-killed child still holds files. */
function unmount(target: string): void {
  for (let attempt = 0; attempt < 20; attempt++) {
    if (spawnSync('umount', [target], { stdio: 'ignore' }).status === 0) return;
    spawnSync('sleep', ['0.1']);
  }
}

function rowsOf(projectFolder: string): string {
  return readProject(projectFolder, (database) => JSON.stringify(database.prepare('SELECT id, path, sha256, status FROM images ORDER BY id').all()));
}

/** The command failed (exit 1), said why on one `Error:` line matching `expected`, and printed no stack trace. */
function clearFailure(result: ChildResult, expected: RegExp): { ok: boolean; detail: string } {
  const line = result.stderr.split('\n').find((text) => text.startsWith('Error: ')) ?? '';
  const ok = result.code === 1 && expected.test(line) && !hasStackTrace(result.stderr);
  return { ok, detail: `exit ${result.code}; ${JSON.stringify(line.slice(0, 300))}${hasStackTrace(result.stderr) ? ' (stack trace printed)' : ''}` };
}

/** Runs the section under `folder`; `mounts` collects mount points for cleanup. */
export async function fullDisk(folder: string, mounts: string[]): Promise<Tally> {
  const tally = new Tally('5. full / read-only disk');
  const early = path.join(folder, 'disk-early');
  const later = path.join(folder, 'disk-later');
  linkMoths(early, 1);
  const laterCount = linkMoths(later, 30);
  const earlyCount = readdirSync(early).reduce((sum, species) => sum + readdirSync(path.join(early, species)).length, 0);
  const small = path.join(folder, 'tmpfs-small');
  mkdirSync(small);
  if (!mount(['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small])) {
    tally.note('mount -t tmpfs is not allowed here: the full and read-only disk cases were NOT run');
    return tally;
  }
  mounts.push(small);

  // 1. The database runs out of space mid-import.
  const project = path.join(small, 'project');
  const first = await runCli(['import', early, '--project', project, '--json']);
  if (first.code !== 0) throw new Error(`The first import on the small disk failed: ${first.stderr}`);
  const earlyRows = rowsOf(project);
  const full = await runCli(['import', later, '--project', project, '--json']);
  tally.fault();
  const fullReport = clearFailure(full, /disk .*is full|no space left/i);
  tally.input(`import into a 2 MB disk (${laterCount} photos)`, fullReport.ok, fullReport.detail);
  tally.note(`2 MB disk, import: ${fullReport.detail}`);
  let check = integrity(project);
  tally.data('2 MB disk: integrity_check after ENOSPC', check === 'ok', check);
  tally.data('2 MB disk: the earlier import is intact', rowsOf(project).startsWith(earlyRows.slice(0, -1)), 'rows of the first import changed');
  tally.data(
    '2 MB disk: no photo marked unreadable because the disk was full',
    count(project, "SELECT count(*) FROM images WHERE status = 'error'") === 0,
  );
  tally.note(`2 MB disk: ${count(project, 'SELECT count(*) FROM images')} of ${earlyCount + laterCount} image rows written before the disk filled`);
  // Freeing space (growing the tmpfs) and running it again completes.
  if (mount(['-o', 'remount,size=128m', small])) {
    const retry = await runCli(['import', later, '--project', project, '--json']);
    const rows = count(project, 'SELECT count(*) FROM images');
    tally.data('2 MB disk: after freeing space the import completes', retry.code === 0 && rows === earlyCount + laterCount, `exit ${retry.code}, ${rows} rows`);
  }

  // 2. The same project, read-only: every command that writes says so and changes nothing.
  const rowsBeforeReadOnly = rowsOf(project);
  if (mount(['-o', 'remount,ro', small])) {
    for (const args of [
      ['import', later, '--project', project, '--json'],
      ['embed', '--project', project, '--model', ONNX_MODEL],
      ['cluster', '--project', project, '--k', '3'],
      ['relink', '--project', project, later],
    ]) {
      tally.fault();
      const result = await runCli(args);
      const report = clearFailure(result, /read-only/i);
      tally.input(`${args[0]} on a read-only disk`, report.ok, report.detail);
      if (args[0] === 'import') tally.note(`read-only disk, import: ${report.detail}`);
    }
    mount(['-o', 'remount,rw', small]);
    check = integrity(project);
    tally.data('read-only disk: integrity_check after remounting read-write', check === 'ok', check);
    tally.data('read-only disk: data unchanged', rowsOf(project) === rowsBeforeReadOnly);
  } else {
    tally.note('mount -o remount,ro failed: the read-only disk case was NOT run');
  }

  // 3. Inodes run out: thumbnails cannot be written while the database still has room.
  const fewInodes = path.join(folder, 'tmpfs-inodes');
  mkdirSync(fewInodes);
  if (mount(['-t', 'tmpfs', '-o', 'size=64m,nr_inodes=40', 'tmpfs', fewInodes])) {
    mounts.push(fewInodes);
    const inodeProject = path.join(fewInodes, 'project');
    const seeded = await runCli(['import', early, '--project', inodeProject, '--labels-from-folders', '--json']);
    if (seeded.code !== 0) throw new Error(`The first import on the inode-limited disk failed: ${seeded.stderr}`);
    const seededRows = rowsOf(inodeProject);
    const result = await runCli(['import', later, '--project', inodeProject, '--labels-from-folders', '--json']);
    tally.fault();
    const report = clearFailure(result, /Cannot write the thumbnail .*no space left on device.*disk is not full/i);
    tally.input('import onto a disk without free inodes (thumbnails fail, database has room)', report.ok, report.detail);
    tally.note(`no free inodes, import: ${report.detail}`);
    check = integrity(inodeProject);
    tally.data('no inodes: integrity_check', check === 'ok', check);
    tally.data('no inodes: the earlier import is intact', rowsOf(inodeProject).startsWith(seededRows.slice(0, -1)));
    const errors = count(inodeProject, "SELECT count(*) FROM images WHERE status = 'error'");
    const withoutThumbnail = readProject(inodeProject, (database) =>
      (database.prepare("SELECT sha256 FROM images WHERE status = 'ok'").pluck().all() as string[]).filter(
        (sha256) => !existsSync(path.join(inodeProject, 'thumbnails', `${sha256}.jpg`)),
      ),
    ).length;
    tally.data('no inodes: no photo marked unreadable, every recorded photo has its thumbnail', errors === 0 && withoutThumbnail === 0, `${errors} error rows, ${withoutThumbnail} without thumbnail`);
    tally.data('no inodes: every recorded photo has its label', count(inodeProject, 'SELECT count(*) FROM labels') === count(inodeProject, 'SELECT count(*) FROM images'));
  } else {
    tally.note('a tmpfs with nr_inodes could not be mounted: the thumbnail ENOSPC case was NOT run');
  }

  // 4. As an ordinary user (where chmod does restrict): a project whose folder and files are read-only.
  if (canRunAs(NOBODY)) {
    const readOnly = path.join(folder, 'chmod-project');
    cpSync(project, readOnly, { recursive: true });
    const walk = (target: string) => {
      chownSync(target, NOBODY, NOBODY);
      if (statSync(target).isDirectory()) {
        for (const name of readdirSync(target)) walk(path.join(target, name));
        chmodSync(target, 0o555);
      } else {
        chmodSync(target, 0o444);
      }
    };
    walk(readOnly);
    const rowsBefore = rowsOf(readOnly);
    tally.fault();
    const result = await runCli(['import', later, '--project', readOnly, '--json'], {
      user: NOBODY,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: folder },
    });
    const report = clearFailure(result, /read-only|readonly|permission denied/i);
    tally.input('import as nobody into a chmod 555/444 project', report.ok, report.detail);
    tally.note(`chmod read-only as nobody, import: ${report.detail}`);
    chmodSync(readOnly, 0o755);
    check = integrity(readOnly);
    tally.data('chmod read-only: integrity_check', check === 'ok', check);
    tally.data('chmod read-only: data unchanged', rowsOf(readOnly) === rowsBefore);
  }
  return tally;
}

/** Unmounts every tmpfs the section mounted. */
export function unmountAll(mounts: string[]): void {
  for (const target of mounts.splice(0).reverse()) unmount(target);
}
