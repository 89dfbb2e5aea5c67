/** Looks into a project's database the way a check should: a fresh better-sqlite3 connection, nothing cached. */
import path from 'node:path';
import Database from 'better-sqlite3';
import { Project } from '../../src-main/services/project';

/** A job row as stored. */
export interface JobRow {
  id: string;
  kind: string;
  status: string;
  error: string | null;
}

/** Opens `project.sqlite` of a project folder, runs `read`, closes it. */
export function readProject<T>(projectFolder: string, read: (database: Database.Database) => T): T {
  const database = new Database(path.join(projectFolder, 'project.sqlite'));
  try {
    return read(database);
  } finally {
    database.close();
  }
}

/** `PRAGMA integrity_check` and `foreign_key_check` together: 'ok', or what is wrong. */
export function integrity(projectFolder: string): string {
  return readProject(projectFolder, (database) => {
    const rows = database.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
    const result = rows.map((row) => row.integrity_check).join('; ');
    const foreign = database.pragma('foreign_key_check') as unknown[];
    return foreign.length > 0 ? `${result}; ${foreign.length} foreign key violations` : result;
  });
}

/** One number from a query. */
export function count(projectFolder: string, sql: string, ...parameters: unknown[]): number {
  return readProject(projectFolder, (database) => database.prepare(sql).pluck().get(...parameters) as number);
}

/** Every job row, oldest first. */
export function jobs(projectFolder: string): JobRow[] {
  return readProject(projectFolder, (database) => database.prepare('SELECT id, kind, status, error FROM jobs ORDER BY started_at, rowid').all() as JobRow[]);
}

/** Opens and closes the project as the app and the CLI do (which marks jobs left `running` as `interrupted`). */
export async function reopen(projectFolder: string): Promise<void> {
  const project = Project.open(projectFolder);
  await project.close();
}
