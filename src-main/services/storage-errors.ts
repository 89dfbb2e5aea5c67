/**
 * Plain-language messages for failures to write the project itself (disk full, read-only folder), as
 * opposed to problems with a photo: SQLite's `SQLITE_FULL` or `SQLITE_READONLY`, Node's `ENOSPC` or `EROFS`.
 */

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
