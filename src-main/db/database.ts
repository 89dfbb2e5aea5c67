/** Opens a project database: better-sqlite3 in WAL mode with foreign keys on and migrations applied. */
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations';

/** An open project database. */
export type ProjectDatabase = Database.Database;

/**
 * Opens (creating if needed) the SQLite file at `filePath` and brings its schema up to date.
 * Nothing is opened at import time: each caller, and each test, gets its own connection.
 */
export function openDatabase(filePath: string): ProjectDatabase {
  const database = new Database(filePath);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  migrate(database);
  return database;
}

/** Applies migrations newer than the file's `user_version`, each in its own transaction. */
export function migrate(database: ProjectDatabase): void {
  const current = database.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `This project was written by a newer version of Specimen Sorter (schema ${current}, this app knows ${MIGRATIONS.length}). Update the app to open it.`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    database.transaction(() => {
      database.exec(MIGRATIONS[version]!);
      database.pragma(`user_version = ${version + 1}`);
    })();
  }
}

/** The current time as an ISO 8601 string, the format every timestamp column uses. */
export function nowIso(): string {
  return new Date().toISOString();
}
