/**
 * What the store knows of tasks it created: nothing attached to them until a subscription or
 * a dependent is, or a guard finds otherwise; only while a batch is recorded is that taken
 * (the guard goes into the batch); the oldest are forgotten past the limit.
 */
import type Database from 'better-sqlite3';
import { openDatabase } from '../../src/store/openDatabase';
import type { TaskRecord } from '../../src/store/records';
import { UnwatchedTasks } from '../../src/store/unwatchedTasks';
import { WriteRecorder } from '../../src/store/writeRecorder';
import { tempDbFile } from '../helpers/tempDb';

const task = (taskId: string, dependencies?: string[]) =>
  ({ taskId, ...(dependencies ? { dependencies } : {}) }) as TaskRecord;

let db: Database.Database;
let recorder: WriteRecorder;
let unwatched: UnwatchedTasks;

beforeEach(() => {
  db = openDatabase(tempDbFile());
  recorder = new WriteRecorder();
  unwatched = new UnwatchedTasks(db, recorder, 3);
});
afterEach(() => db.close());

const known = (...ids: string[]) => {
  recorder.begin(1);
  const answer = ids.filter((id) => unwatched.stillUnwatched(id));
  const ops = recorder.finish().ops;
  return { answer, guards: ops.length / 2 };
};

test('only tasks created here count, and each one taken adds its guard to the batch', () => {
  unwatched.created(task('a'));
  unwatched.created(task('b'));
  expect(known('a', 'b', 'elsewhere')).toEqual({ answer: ['a', 'b'], guards: 2 });
  // Outside a recording nothing can be checked at commit: the caller reads instead.
  expect(unwatched.stillUnwatched('a')).toBe(false);
});

test('a subscription, a dependent, a guard that failed, or finishing drops a task', () => {
  for (const id of ['a', 'b', 'c']) unwatched.created(task(id));
  unwatched.attached('a');
  unwatched.created(task('d', ['b']));
  recorder.changed('c');
  expect(known('a', 'b', 'c', 'd')).toEqual({ answer: ['d'], guards: 1 });
  unwatched.forget('d');
  expect(known('d')).toEqual({ answer: [], guards: 0 });
});

test('past the limit the oldest are forgotten, a generation at a time', () => {
  const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (const id of ids.slice(0, 4)) unwatched.created(task(id));
  expect(known(...ids).answer).toEqual(['a', 'b', 'c', 'd']); // up to twice the limit (3)
  for (const id of ids.slice(4)) unwatched.created(task(id));
  expect(known(...ids).answer).toEqual(['d', 'e', 'f']);
});
