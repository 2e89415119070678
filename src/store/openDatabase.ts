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

export function openDatabase(file: string): Db {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  for (const pragma of CONNECTION_PRAGMAS) db.pragma(pragma);
  migrate(db);
  return db;
}
