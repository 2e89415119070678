/**
 * A fresh SQLite file per test, in one folder per test process. The folder is removed after
 * the run unless ARCD_KEEP_TEST_DB=1, so a failing test's database can be inspected.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'arcd-test-'));
let counter = 0;

export function tempDbFile(name = 'arcd'): string {
  counter += 1;
  return path.join(root, `${name}-${counter}.db`);
}

afterAll(() => {
  // Retried: a connection closing as the folder goes can leave a -wal/-shm file a moment
  // longer (ENOTEMPTY); one left for good still fails the run.
  if (process.env.ARCD_KEEP_TEST_DB !== '1') {
    fs.rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
});
