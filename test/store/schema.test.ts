import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { projectRoot } from '../../src/paths';
import { dumpSchema } from '../../src/store/schemaDump';
import { migrate, readMigrations } from '../../src/store/migrate';
import { openDatabase } from '../../src/store/openDatabase';
import { tempDbFile } from '../helpers/tempDb';

describe('schema', () => {
  test('schema.sql matches what the migrations build (run `npm run schema:dump`)', () => {
    const committed = fs.readFileSync(path.join(projectRoot, 'schema.sql'), 'utf8');
    expect(dumpSchema()).toBe(committed);
  });

  test('migrations apply once; a second run and a second connection change nothing', () => {
    const file = tempDbFile('migrate');
    const first = new Database(file);
    const second = new Database(file);
    try {
      expect(migrate(first)).toBe(readMigrations().length);
      expect(migrate(second)).toBe(0);
      expect(migrate(first)).toBe(0);
      const applied = first.prepare('SELECT version FROM schema_migrations').all();
      expect(applied).toHaveLength(readMigrations().length);
    } finally {
      first.close();
      second.close();
    }
  });

  test('a failing migration leaves nothing half-applied', () => {
    const db = new Database(tempDbFile('broken'));
    try {
      const broken = [
        {
          version: 9999,
          name: '9999_broken.sql',
          sql: 'CREATE TABLE half (x); CREATE TABLE oops (',
        },
      ];
      expect(() => migrate(db, broken)).toThrow();
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").all();
      expect(tables).toEqual([]);
      expect(db.prepare('SELECT count(*) AS n FROM schema_migrations').get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  });
});

test('a start waits for another process holding the write lock (its migration), past busy_timeout', async () => {
  const file = tempDbFile('migrate-locked');
  const all = readMigrations();
  const setup = new Database(file);
  setup.pragma('journal_mode = WAL');
  migrate(setup, all.slice(0, -1)); // the last migration still to apply
  setup.close();
  // Another process takes the write lock for 1.5 s (as a long migration would).
  const holder = spawn(
    process.execPath,
    [
      '-e',
      `const db = new (require(${JSON.stringify(require.resolve('better-sqlite3'))}))(${JSON.stringify(file)});
       db.exec('BEGIN IMMEDIATE'); console.log('held');
       setTimeout(() => { db.exec('COMMIT'); db.close(); }, 1500);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
  const db = new Database(file);
  db.pragma('busy_timeout = 100'); // SQLite's own wait alone would give up at once
  try {
    expect(() => migrate(db, all, 0)).toThrow(/database is locked/);
    expect(migrate(db, all)).toBe(1); // waited for the lock, then applied the last one
  } finally {
    db.close();
    holder.kill();
  }
});

test('a file a newer arcd migrated is refused, naming the migrations', () => {
  const db = new Database(tempDbFile('newer'));
  try {
    migrate(db);
    const newer = {
      version: 9999,
      name: '9999_from_the_future.sql',
      sql: 'CREATE TABLE later (x);',
    };
    migrate(db, [...readMigrations(), newer]);
    expect(() => migrate(db)).toThrow(
      /migrated by a newer arcd \(9999_from_the_future\.sql; this one knows up to \d{4}_/,
    );
  } finally {
    db.close();
  }
});

test('a database that cannot be opened is refused naming the file and the setting', () => {
  const folder = path.dirname(tempDbFile('a-folder'));
  const inside = path.join(folder, 'not-a-file.db');
  fs.mkdirSync(inside, { recursive: true }); // a folder where the file should be
  expect(() => openDatabase(inside)).toThrow(`ARCD_DB/--db ${inside}: `);
});

test('a newer arcd migrating the file while this one migrates is refused after', () => {
  const db = new Database(tempDbFile('newer-meanwhile'));
  try {
    const known = readMigrations();
    // As another process would: its newer migration recorded between this one's reads.
    const meanwhile = {
      version: (known.at(-1)?.version ?? 0) + 1,
      name: 'meanwhile.sql',
      sql: `INSERT INTO schema_migrations (version, name, applied_at)
        VALUES (99999, '99999_newer.sql', '2026-12-07T00:00:00Z');`,
    };
    expect(() => migrate(db, [...known, meanwhile])).toThrow(
      /migrated by a newer arcd \(99999_newer\.sql/,
    );
  } finally {
    db.close();
  }
});

test('a new database file, its WAL and its folder are its owner’s alone', () => {
  const folder = path.join(path.dirname(tempDbFile('private')), 'private-data');
  const file = path.join(folder, 'arcd.db');
  const db = openDatabase(file);
  try {
    db.exec('CREATE TABLE IF NOT EXISTS written (x)'); // a write: the WAL exists
    expect(fs.statSync(folder).mode & 0o777).toBe(0o700);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
  } finally {
    db.close();
  }
});
