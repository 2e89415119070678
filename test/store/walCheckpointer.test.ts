/**
 * WAL checkpoints run on a worker thread: committed pages reach the database file while the
 * main connection's own automatic checkpoint waits for a far larger WAL (a backstop only).
 */
import fs from 'node:fs';
import { SqliteStore } from '../../src/store/sqliteStore';
import { BACKSTOP_PAGES } from '../../src/store/walCheckpointer';
import { waitFor } from '../helpers/arcServer';
import { tempDbFile } from '../helpers/tempDb';

test('pages committed on the main connection are checkpointed into the file by the worker', async () => {
  const file = tempDbFile('checkpoint');
  const store = new SqliteStore(file);
  try {
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(BACKSTOP_PAGES);
    store.db.exec('CREATE TABLE scratch (body TEXT NOT NULL)');
    const before = fs.statSync(file).size;
    const insert = store.db.prepare('INSERT INTO scratch (body) VALUES (?)');
    const body = 'x'.repeat(1000);
    for (let batch = 0; batch < 20; batch += 1) {
      store.db.transaction(() => {
        for (let i = 0; i < 100; i += 1) insert.run(body);
      })();
    }
    // ~2 MB committed: far under the backstop, so only the worker can have copied it back.
    expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(1_000_000);
    const grown = await waitFor('the database file to receive the WAL pages', async () => {
      const size = fs.statSync(file).size;
      return size > before + 1_000_000 ? size : undefined;
    });
    expect(grown).toBeGreaterThan(before);
  } finally {
    await store.close();
  }
});

test('an in-memory store has no WAL and no worker', async () => {
  const store = new SqliteStore(':memory:');
  expect(store.db.pragma('journal_mode', { simple: true })).toBe('memory');
  await store.close();
});
