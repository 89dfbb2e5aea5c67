/**
 * Plain-language messages for failures to write the project itself (disk full, read-only folder), as
 * opposed to problems with a photo: SQLite's `SQLITE_FULL` or `SQLITE_READONLY`, Node's `ENOSPC` or `EROFS`.
 */
import { accessSync, constants } from 'node:fs';

/** The `code` of an error from better-sqlite3 (`SQLITE_*`) or Node's file system (`E*`), if any. */
function errorCode(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

/**
 * Says what went wrong while writing the project and what to do, or returns null when `error` is not a
 * storage failure (then its own message applies).
 *
 * @example
 * describeStorageError(sqliteFullError)
 * // 'The disk holding the project is full (database or disk is full). Free some space and run it again; ...'
 */
export function describeStorageError(error: unknown): string | null {
  const code = errorCode(error);
  if (code === null) return null;
  const detail = (error as Error).message;
  const kept = 'the work saved before is kept';
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') {
    return `The disk holding the project is full (${detail}). Free some space and run it again; ${kept}.`;
  }
  if (code === 'EROFS' || code.startsWith('SQLITE_READONLY')) {
    return `The project folder is read-only (${detail}). Make it writable, or copy the project to a writable disk, and run it again; ${kept}.`;
  }
  if (code.startsWith('SQLITE_IOERR') || code === 'EIO') {
    return `The disk reported an error while writing the project (${detail}). Check the disk and run it again; ${kept}.`;
  }
  if (code === 'SQLITE_CANTOPEN') {
    return `The project database cannot be opened (${detail}). Check that the project folder exists, is writable and its disk is not full.`;
  }
  return null;
}

/**
 * Says why a project could not be opened. SQLite only reports "unable to open database file" when it cannot
 * create its `-shm` file on a read-only disk, so the folder itself is checked first.
 */
export function describeOpenError(folder: string, error: unknown): string {
  try {
    accessSync(folder, constants.W_OK);
  } catch (access) {
    const code = errorCode(access);
    if (code === 'EROFS') return describeStorageError(access)!;
    if (code === 'EACCES' || code === 'EPERM') {
      return `You may not write to the project folder (${(access as Error).message}). Get write access, or copy the project somewhere you can write, and open it again.`;
    }
  }
  return describeStorageError(error) ?? (error as Error).message;
}
