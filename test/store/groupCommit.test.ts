/**
 * Group commit: writes submitted in one event-loop turn share a transaction, a write that
 * throws fails only its own caller (its savepoint is rolled back), and every caller is
 * answered after the commit, with what it wrote readable by then.
 */
import Database from 'better-sqlite3';
import { GroupCommit } from '../../src/store/groupCommit';
import { tempDbFile } from '../helpers/tempDb';

function setup() {
  const db = new Database(tempDbFile());
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  return {
    db,
    group: new GroupCommit(db),
    insert: db.prepare('INSERT INTO t (k, v) VALUES (?, ?)'),
  };
}

test('a failing write fails alone; the others of its turn commit together', async () => {
  const { db, group, insert } = setup();
  const outcomes = await Promise.allSettled(
    ['a', 'b', 'boom', 'c'].map((k, i) =>
      group.record(() => {
        insert.run(k, i);
        if (k === 'boom') throw new Error('refused'); // after writing: must be rolled back
        return k;
      }),
    ),
  );
  expect(
    outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message)),
  ).toEqual(['a', 'b', 'refused', 'c']);
  expect(db.prepare('SELECT k FROM t ORDER BY v').all()).toEqual([
    { k: 'a' },
    { k: 'b' },
    { k: 'c' },
  ]);
  db.close();
});

test('each caller is answered only after its write is committed', async () => {
  const { db, group, insert } = setup();
  const reader = new Database(db.name, { readonly: true });
  const seen: number[] = [];
  const order: string[] = [];
  await Promise.all(
    [1, 2, 3].map(async (v) => {
      await group.record(() => {
        order.push(`write ${v}`);
        return insert.run(`k${v}`, v);
      });
      order.push(`answer ${v}`);
      // Another connection sees it, so it is committed, not just written in the open transaction.
      seen.push(
        (reader.prepare('SELECT COUNT(*) AS n FROM t WHERE v = ?').get(v) as { n: number }).n,
      );
    }),
  );
  expect(seen).toEqual([1, 1, 1]);
  // One transaction for the turn: every write ran before any caller was answered.
  expect(order).toEqual(['write 1', 'write 2', 'write 3', 'answer 1', 'answer 2', 'answer 3']);
  reader.close();
  db.close();
});

test('a write whose failure rolls back the whole transaction fails the batch: nothing after it commits alone', async () => {
  const { db, group, insert } = setup();
  // As SQLITE_FULL or an I/O error may: the whole transaction rolled back, not one statement.
  db.exec(`CREATE TEMP TRIGGER disk_full BEFORE INSERT ON t WHEN NEW.k = 'full'
    BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END`);
  const outcomes = await Promise.allSettled(
    ['a', 'full', 'c'].map((k, i) => group.record(() => insert.run(k, i))),
  );
  // Every caller told it failed, and so it did: none of the batch is stored.
  expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
  expect(db.prepare('SELECT k FROM t').all()).toEqual([]);
  // The next batch runs as usual.
  await group.record(() => insert.run('d', 4));
  expect(db.prepare('SELECT k FROM t').all()).toEqual([{ k: 'd' }]);
  db.close();
});

test('a write run at once waits for the writes queued before it, in order', async () => {
  const { db, group, insert } = setup();
  const order: string[] = [];
  const queued = group.record(() => {
    order.push('queued');
    return insert.run('a', 1);
  });
  const direct = group.now(() => {
    order.push('now');
    return insert.run('a', 2); // planned after the queued write: sees its row
  });
  await queued;
  // Matched by its message: a SqliteError may come from outside jest's realm (not an Error here).
  await expect(direct).rejects.toMatchObject({ message: expect.stringMatching(/UNIQUE/) });
  expect(order).toEqual(['queued', 'now']);
  db.close();
});

test('writes submitted once the store is closing are refused; those before it are answered', async () => {
  const { db, group, insert } = setup();
  const before = group.record(() => insert.run('a', 1));
  const closed = group.close();
  await expect(group.record(() => insert.run('b', 2))).rejects.toThrow(/closed/);
  await expect(group.now(() => insert.run('c', 3))).rejects.toThrow(/closed/);
  await before;
  await closed;
  expect(db.prepare('SELECT k FROM t').all()).toEqual([{ k: 'a' }]);
  db.close();
});
