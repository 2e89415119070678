/**
 * Opens the SQLite file with the pragmas arcd relies on (WAL, foreign keys, a busy timeout for
 * a second process on the same file) and brings its schema up to date. Creates the folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrate';

export type Db = Database.Database;

/** What every connection arcd opens to a file sets (WAL itself is kept in the file). */
export const CONNECTION_PRAGMAS = [
  'synchronous = NORMAL',
  'foreign_keys = ON',
  'busy_timeout = 5000',
] as const;

/**
 * A new file (and folder) only its owner can read: the database holds webhook and trigger
 * signing secrets as they are. SQLite gives the -wal and -shm files the database's mode. An
 * existing file or folder keeps the mode it has.
 */
function createPrivately(file: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  fs.closeSync(fs.openSync(file, 'a', 0o600));
}

export function openDatabase(file: string): Db {
  let db: Db;
  try {
    if (file !== ':memory:') createPrivately(file);
    db = new Database(file);
    db.pragma('journal_mode = WAL'); // the first write: a read-only file or folder fails here
  } catch (error) {
    // SQLite's own words ("unable to open database file") name no file, nor the setting.
    const where = file === ':memory:' ? file : path.resolve(file);
    throw new Error(`ARCD_DB/--db ${where}: ${(error as Error).message}`, { cause: error });
  }
  for (const pragma of CONNECTION_PRAGMAS) db.pragma(pragma);
  migrate(db);
  return db;
}
