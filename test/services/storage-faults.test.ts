import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/db/database';
import { importFolder } from '../../src-main/services/import-service';
import { JobRunner } from '../../src-main/services/job-runner';
import { Project } from '../../src-main/services/project';
import { describeStorageError } from '../../src-main/services/storage-errors';
import { temporaryFolder, writeJpeg } from '../helpers/fixtures';

let cleanup = () => {};
afterEach(() => cleanup());

function fresh() {
  const temporary = temporaryFolder('specimen-storage-');
  cleanup = temporary.cleanup;
  return temporary.folder;
}

/** A real SQLITE_READONLY error: a write through a read-only connection. */
function readOnlyError(folder: string): unknown {
  const file = path.join(folder, 'read-only.sqlite');
  openDatabase(file).close();
  const database = new Database(file, { readonly: true });
  try {
    database.exec("INSERT INTO settings (key, value) VALUES ('a', 'b')");
  } catch (error) {
    return error;
  } finally {
    database.close();
  }
  throw new Error('the write unexpectedly succeeded');
}

describe('describeStorageError', () => {
  it('explains full and read-only disks, and leaves other errors alone', () => {
    const folder = fresh();
    expect(describeStorageError(readOnlyError(folder))).toMatch(/^The project folder is read-only \(attempt to write a readonly database\)\. Make it writable/);
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    expect(describeStorageError(full)).toMatch(/^The disk holding the project is full \(ENOSPC: .*\)\. Free some space and run it again; the work saved before is kept\.$/);
    expect(describeStorageError(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))).toMatch(/is full/);
    expect(describeStorageError(new Error('Folder not found'))).toBeNull();
    expect(describeStorageError(Object.assign(new Error('gone'), { code: 'ENOENT' }))).toBeNull();
    expect(describeStorageError(null)).toBeNull();
  });
});

describe('JobRunner on a database that stops taking writes', () => {
  it('reports the failure in plain words, and the row left running is marked interrupted on the next open', async () => {
    const database = openDatabase(path.join(fresh(), 'project.sqlite'));
    const jobs = new JobRunner(database);
    const finishedEvents: string[] = [];
    jobs.subscribe({ progress: () => {}, finished: (event) => finishedEvents.push(event.status) });
    const jobId = jobs.start('import', {}, async () => {
      // Every write from here on fails with SQLITE_READONLY, the final status update included.
      database.pragma('query_only = ON');
      database.prepare("INSERT INTO settings (key, value) VALUES ('k', 'v')").run();
      return 'unreachable';
    });
    const finished = await jobs.wait(jobId);
    expect(finished.status).toBe('failed');
    expect(finished.message).toMatch(/^The project folder is read-only/);
    expect(finishedEvents).toEqual(['failed']);
    database.pragma('query_only = OFF');
    expect(database.prepare('SELECT status FROM jobs WHERE id = ?').pluck().get(jobId)).toBe('running');
    new JobRunner(database);
    expect(database.prepare('SELECT status FROM jobs WHERE id = ?').pluck().get(jobId)).toBe('interrupted');
    database.close();
  });
});

describe('importing into a project that cannot be written', () => {
  it('stops with the reason, keeps the photos recorded before, and marks no photo as unreadable', async () => {
    const folder = fresh();
    const photos = path.join(folder, 'photos');
    mkdirSync(photos);
    for (let index = 0; index < 150; index++) await writeJpeg(path.join(photos, `${String(index).padStart(3, '0')}.jpg`), index, 16);
    const project = Project.open(path.join(folder, 'project'));
    // After 120 thumbnails, thumbnails go to a path under a plain file, as real a write failure as a full disk.
    const blocker = path.join(folder, 'not a folder');
    writeFileSync(blocker, '');
    let written = 0;
    const thumbnailPath = (sha256: string) => (++written <= 120 ? project.thumbnailPath(sha256) : path.join(blocker, `${sha256}.jpg`));
    try {
      await expect(importFolder(project.store, photos, { labelsFromFolders: true, thumbnailPath, concurrency: 4 })).rejects.toThrow(
        /^Cannot write the thumbnail .*not a folder.*Check that the project folder is writable and the disk is not full\.$/,
      );
      const statuses = project.store.database.prepare('SELECT status, count(*) AS count FROM images GROUP BY status').all();
      expect(statuses).toEqual([{ status: 'ok', count: expect.any(Number) }]);
      const count = (statuses[0] as { count: number }).count;
      expect(count).toBeGreaterThanOrEqual(100);
      expect(count).toBeLessThanOrEqual(120);
      // Images and their folder labels are written together.
      expect(project.store.counts().labeledCount).toBe(count);
    } finally {
      await project.close();
    }
  });

  it('explains a project database that cannot be opened', () => {
    const folder = fresh();
    // A folder where the database file should be: SQLite cannot open it.
    mkdirSync(path.join(folder, 'project', 'project.sqlite'), { recursive: true });
    expect(() => Project.open(path.join(folder, 'project'))).toThrow(/^Cannot open the project database .*project\.sqlite: The project database cannot be opened/);
  });
});
