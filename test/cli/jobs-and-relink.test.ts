import { mkdirSync, renameSync } from 'node:fs';
import { runCli } from '../helpers/capture-cli';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryFolder, writeJpeg } from '../helpers/fixtures';

const temporary = temporaryFolder('specimen-cli-jobs-');
const photos = path.join(temporary.folder, 'photos');

const capture = runCli;

function jobRows(project: string): { kind: string; status: string; parameters: string; error: string | null }[] {
  const database = new Database(path.join(project, 'project.sqlite'), { readonly: true });
  try {
    return database.prepare('SELECT kind, status, parameters, error FROM jobs ORDER BY started_at, rowid').all() as {
      kind: string;
      status: string;
      parameters: string;
      error: string | null;
    }[];
  } finally {
    database.close();
  }
}

beforeAll(async () => {
  mkdirSync(path.join(photos, 'Mimas tiliae'), { recursive: true });
  for (let index = 0; index < 5; index++) await writeJpeg(path.join(photos, 'Mimas tiliae', `${index}.jpg`), index, 32);
});
afterAll(() => temporary.cleanup());

describe('command-line steps as jobs', () => {
  it('records each step in the jobs table: done, or failed with the message it printed', async () => {
    const project = path.join(temporary.folder, 'project-jobs');
    expect((await capture(['import', photos, '--project', project, '--json'])).code).toBe(0);
    const missing = path.join(temporary.folder, 'no such folder');
    const failed = await capture(['import', missing, '--project', project]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`Error: Folder not found: ${missing}.`);
    expect(jobRows(project)).toEqual([
      { kind: 'import', status: 'done', parameters: JSON.stringify({ folder: photos, labelsFromFolders: false }), error: null },
      { kind: 'import', status: 'failed', parameters: JSON.stringify({ folder: missing, labelsFromFolders: false }), error: expect.stringMatching(/^Folder not found/) },
    ]);
  });

  it('still reports bad arguments as usage errors, before any job starts', async () => {
    const project = path.join(temporary.folder, 'project-usage');
    expect((await capture(['import', photos, '--project', project])).code).toBe(0);
    const result = await capture(['cluster', '--project', project, '--k', '2', '--restarts', 'many']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^--restarts must be a whole number/);
    expect(jobRows(project).map((row) => row.kind)).toEqual(['import']);
  });
});

describe('specimen-sorter relink', () => {
  it('finds a moved folder again and says how many photos are still missing', async () => {
    const project = path.join(temporary.folder, 'project-relink');
    const folder = path.join(temporary.folder, 'to move');
    mkdirSync(folder);
    for (let index = 0; index < 3; index++) await writeJpeg(path.join(folder, `${index}.jpg`), 50 + index, 32);
    expect((await capture(['import', folder, '--project', project])).code).toBe(0);
    const moved = path.join(temporary.folder, 'moved here');
    renameSync(folder, moved);
    const result = await capture(['relink', '--project', project, moved, '--json']);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as { scanned: number; relinked: { from: string; to: string }[]; stillMissing: string[] };
    expect(summary.scanned).toBe(3);
    expect(summary.relinked.map((image) => [image.from, image.to])).toEqual(
      [0, 1, 2].map((index) => [path.join(folder, `${index}.jpg`), path.join(moved, `${index}.jpg`)]),
    );
    expect(summary.stillMissing).toEqual([]);
    expect((await capture(['relink', '--project', project, moved])).stdout).toBe(`Relinked 0 images to files under ${moved}; 0 are still missing.\n`);
    expect((await capture(['relink', '--project', project])).code).toBe(2);
  });
});
