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
