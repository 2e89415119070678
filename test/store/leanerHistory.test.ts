/**
 * Migration 0010 rebuilds messages, events and runs with fewer B-trees. On a database that
 * already holds tasks it keeps every row, leaves the deliveries that reference events intact
 * (foreign keys are off only while it runs), and the cascades still reach the new tables.
 */
import Database from 'better-sqlite3';
import { migrate, readMigrations } from '../../src/store/migrate';
import { tempDbFile } from '../helpers/tempDb';

const AT = '2026-11-30T12:00:00.000Z';

function seedAtVersion9(db: Database.Database): void {
  migrate(
    db,
    readMigrations().filter((m) => m.version <= 9),
  );
  db.exec(`
    INSERT INTO tasks (task_id, status, priority, priority_rank, assigned_agent, request_agent,
      created_at, updated_at, message_count, last_seq)
      VALUES ('task-a', 'COMPLETED', 'NORMAL', 1, 'echo', 'me', '${AT}', '${AT}', 2, 2);
    INSERT INTO messages (message_id, task_id, seq, role, parts, agent_id, timestamp) VALUES
      ('msg-1', 'task-a', 1, 'user', '[{"type":"TextPart","content":"hi"}]', NULL, '${AT}'),
      ('msg-2', 'task-a', 2, 'agent', '[{"type":"TextPart","content":"hi"}]', 'echo', '${AT}');
    INSERT INTO events (task_id, seq, event_id, type, data, created_at) VALUES
      ('task-a', 1, 'evt-1', 'TASK_CREATED', '{"status":"SUBMITTED"}', '${AT}'),
      ('task-a', 2, 'evt-2', 'TASK_COMPLETED', '{"status":"COMPLETED"}', '${AT}');
    INSERT INTO subscriptions (subscription_id, task_id, owner_agent, callback_url, events,
      secret, created_at) VALUES ('sub-1', 'task-a', 'me', 'http://127.0.0.1:9/', '["TASK_COMPLETED"]', 's', '${AT}');
    INSERT INTO deliveries (delivery_id, subscription_id, task_id, event_seq, next_attempt_at,
      created_at, updated_at) VALUES ('dlv-1', 'sub-1', 'task-a', 2, '${AT}', '${AT}', '${AT}');
    INSERT INTO runs (run_id, task_id, attempt, owner, started_at, outcome, tokens_used)
      VALUES ('run-1', 'task-a', 1, 'runner-x', '${AT}', 'completed', 7);
  `);
}

const rows = (db: Database.Database, sql: string) => db.prepare(sql).all();

test('0010 keeps every row, the deliveries on events, and the cascades', () => {
  const db = new Database(tempDbFile('leaner'));
  try {
    db.pragma('foreign_keys = ON');
    seedAtVersion9(db);
    const before = {
      messages: rows(
        db,
        'SELECT message_id, task_id, seq, role, parts, agent_id, timestamp FROM messages ORDER BY seq',
      ),
      events: rows(db, 'SELECT * FROM events ORDER BY seq'),
      runs: rows(db, 'SELECT * FROM runs'),
    };
    expect(
      migrate(
        db,
        readMigrations().filter((m) => m.version <= 10),
      ),
    ).toBe(1);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    expect(
      rows(
        db,
        'SELECT message_id, task_id, seq, role, parts, agent_id, timestamp FROM messages ORDER BY seq',
      ),
    ).toEqual(before.messages);
    expect(rows(db, 'SELECT * FROM events ORDER BY seq')).toEqual(before.events);
    expect(rows(db, 'SELECT * FROM runs')).toEqual(before.runs);
    expect(rows(db, 'SELECT delivery_id, event_seq FROM deliveries')).toEqual([
      { delivery_id: 'dlv-1', event_seq: 2 },
    ]);
    // The rebuilt events table is the deliveries' parent: a delivery of no event is refused.
    expect(() =>
      db.exec(`INSERT INTO deliveries (delivery_id, subscription_id, task_id, event_seq,
        next_attempt_at, created_at, updated_at) VALUES ('dlv-2', 'sub-1', 'task-a', 9, '${AT}', '${AT}', '${AT}')`),
    ).toThrow(/FOREIGN KEY/);
    db.exec("DELETE FROM tasks WHERE task_id = 'task-a'");
    for (const table of ['messages', 'events', 'runs', 'deliveries']) {
      expect([table, rows(db, `SELECT 1 FROM ${table}`)]).toEqual([table, []]);
    }
  } finally {
    db.close();
  }
});

test('a connection without foreign keys keeps them off after the migration', () => {
  const db = new Database(tempDbFile('leaner-off'));
  try {
    db.pragma('foreign_keys = OFF'); // better-sqlite3 opens with them on
    expect(migrate(db)).toBe(readMigrations().length);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(0);
  } finally {
    db.close();
  }
});

test('a rebuild that would break a foreign key is rolled back whole', () => {
  const db = new Database(tempDbFile('leaner-broken'));
  try {
    db.pragma('foreign_keys = ON');
    migrate(db);
    db.exec(`INSERT INTO tasks (task_id, status, priority, priority_rank, assigned_agent,
      request_agent, created_at, updated_at) VALUES ('task-b', 'SUBMITTED', 'NORMAL', 1, 'echo', 'me', '${AT}', '${AT}')`);
    const breaking = [
      {
        version: 9999,
        name: '9999_orphans.sql',
        sql: `-- arcd: foreign_keys off
          INSERT INTO messages (task_id, seq, message_id, role, parts, timestamp)
            VALUES ('task-nobody', 1, 'msg-x', 'user', '[]', '${AT}');
          CREATE TABLE left_behind (x);`,
      },
    ];
    expect(() => migrate(db, breaking)).toThrow(/would break 1 foreign keys/);
    expect(rows(db, "SELECT name FROM sqlite_master WHERE name = 'left_behind'")).toEqual([]);
    expect(rows(db, 'SELECT 1 FROM messages')).toEqual([]);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
  } finally {
    db.close();
  }
});
