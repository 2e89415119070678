/**
 * The recorder's stale marks: a task a guard found changed is read again by its next write,
 * once (outside a recording), and only the newest STALE_MARKS marks are sure to be kept, so tasks
 * never written again cannot grow the set for ever.
 */
import { STALE_MARKS, WriteRecorder } from '../../src/store/writeRecorder';

test('a mark is asked once outside a recording', () => {
  const recorder = new WriteRecorder();
  recorder.changed('task-a');
  expect(recorder.foundChanged('task-a')).toBe(true);
  expect(recorder.foundChanged('task-a')).toBe(false);
  expect(recorder.foundChanged('task-b')).toBe(false);
});

test('the newest STALE_MARKS marks are kept, older ones go a generation at a time; one marked again counts as new', () => {
  const recorder = new WriteRecorder();
  for (let i = 0; i < STALE_MARKS; i += 1) recorder.changed(`task-${i}`); // a whole generation
  recorder.changed('task-0'); // marked again: the newest now
  for (let i = 1; i < STALE_MARKS; i += 1) recorder.changed(`task-more-${i}`); // fills the next
  expect(recorder.foundChanged('task-1')).toBe(false);
  expect(recorder.foundChanged(`task-${STALE_MARKS - 1}`)).toBe(false);
  expect(recorder.foundChanged('task-0')).toBe(true);
  expect(recorder.foundChanged('task-more-1')).toBe(true);
  expect(recorder.foundChanged(`task-more-${STALE_MARKS - 1}`)).toBe(true);
});
