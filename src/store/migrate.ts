/**
 * Applies migrations/NNNN_name.sql in order, each in its own IMMEDIATE transaction together
 * with its row in schema_migrations. Forward-only: an applied file is never run again, and a
 * second process racing on the same file waits for the lock, then sees it applied.
 *
 * A migration that rebuilds a table other tables reference starts with the line
 * `-- arcd: foreign_keys off`: it runs with foreign keys off (SQLite's own procedure for
 * changing a table: dropping the old one would otherwise cascade into its children), and
 * commits only if `PRAGMA foreign_key_check` finds nothing broken.
 *
 * A file a newer arcd has migrated past this one's migrations is refused: this arcd would
 * write rows the newer schema expects otherwise (a rolling upgrade keeps old processes off it).
 * Migrations already applied are skipped without taking the write lock, so a start does not
 * wait on (or stall) another process's writes when there is nothing to apply.
 */
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { migrationsDir } from '../paths';
import { sleepSync } from '../sleepSync';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function readMigrations(dir: string = migrationsDir): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((file) => /^\d{4}_[\w-]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file,
      sql: fs.readFileSync(path.join(dir, file), 'utf8'),
    }));
}

/**
 * How long a start waits, at most, for the write lock another process holds (its own
 * migration, which may rebuild a large table, or a long write) before it gives up: the
 * connection's busy_timeout alone (5 s) would fail a second process started meanwhile.
 */
export const MIGRATION_LOCK_WAIT_MS = 10 * 60_000;

/** Runs `work` (a write transaction), again while the file stays locked, for up to `waitMs`. */
function whenUnlocked<T>(work: () => T, waitMs: number): T {
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      return work();
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= until) throw error;
      sleepSync(100); // a start has nothing else to do meanwhile
    }
  }
}

export function migrate(
  db: Database.Database,
  migrations: Migration[] = readMigrations(),
  lockWaitMs = MIGRATION_LOCK_WAIT_MS,
): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`);
  const applied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  const record = db.prepare(
    'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
  );
  const newestApplied = db.prepare<[], { version: number; name: string }>(
    'SELECT version, name FROM schema_migrations ORDER BY version DESC LIMIT 1',
  );
  const known = migrations.at(-1);
  const refuseNewer = () => {
    const newest = newestApplied.get();
    if (newest && known && newest.version > known.version) {
      throw new Error(
        `the database was migrated by a newer arcd (${newest.name}; this one knows up to ${known.name}): upgrade this arcd to serve it`,
      );
    }
  };
  refuseNewer();
  let count = 0;
  for (const migration of migrations) {
    if (applied.get(migration.version)) continue; // read without the lock; checked again in it
    const keysOff = FOREIGN_KEYS_OFF.test(migration.sql);
    const apply = db.transaction(() => {
      if (applied.get(migration.version)) return false;
      db.exec(migration.sql);
      if (keysOff) {
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0) {
          throw new Error(`${migration.name} would break ${broken.length} foreign keys`);
        }
      }
      record.run(migration.version, migration.name, new Date().toISOString());
      return true;
    });
    const restoreKeys = keysOff && db.pragma('foreign_keys', { simple: true }) === 1;
    if (keysOff) db.pragma('foreign_keys = OFF'); // takes effect outside a transaction only
    try {
      if (whenUnlocked(() => apply.immediate(), lockWaitMs)) count += 1;
    } finally {
      if (restoreKeys) db.pragma('foreign_keys = ON');
    }
  }
  // A newer arcd starting beside this one may have migrated past it meanwhile.
  refuseNewer();
  return count;
}

const FOREIGN_KEYS_OFF = /^-- arcd: foreign_keys off$/m;
