/**
 * The recorder's stale marks: a task a guard found changed is read again by its next write,
 * once (outside a recording), and only the newest STALE_MARKS marks are kept, so tasks never
 * written again cannot grow the set for ever.
 */
import { STALE_MARKS, WriteRecorder } from '../../src/store/writeRecorder';

test('a mark is asked once outside a recording', () => {
  const recorder = new WriteRecorder();
  recorder.changed('task-a');
  expect(recorder.foundChanged('task-a')).toBe(true);
  expect(recorder.foundChanged('task-a')).toBe(false);
  expect(recorder.foundChanged('task-b')).toBe(false);
});

test('past STALE_MARKS the oldest marks go; one marked again counts as new', () => {
  const recorder = new WriteRecorder();
  recorder.changed('task-0');
  recorder.changed('task-1');
  for (let i = 2; i < STALE_MARKS; i += 1) recorder.changed(`task-${i}`);
  recorder.changed('task-0'); // the newest now; task-1 is the oldest
  for (let i = 0; i < 2; i += 1) recorder.changed(`task-more-${i}`);
  expect(recorder.foundChanged('task-1')).toBe(false);
  expect(recorder.foundChanged('task-2')).toBe(false);
  expect(recorder.foundChanged('task-0')).toBe(true);
  expect(recorder.foundChanged('task-3')).toBe(true);
  expect(recorder.foundChanged(`task-${STALE_MARKS - 1}`)).toBe(true);
  expect(recorder.foundChanged('task-more-1')).toBe(true);
});
