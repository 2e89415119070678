/**
 * A task that stays WORKING for as long as a test needs (its agent never returns), and a plan
 * that appends one agent message to it: for tests that write to a live task directly.
 */
import { defineAgent } from '../../src/agents/contract';
import type { TaskRecord } from '../../src/store/records';
import { messageAdded } from '../../src/tasks/changes';

export const holdAgent = defineAgent({
  id: 'hold',
  description: 'holds its turn until stopped (then returns at once, as handlers should)',
  handle: (ctx) =>
    new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve())),
});

/** A change plan adding an agent message `text` (message id `msg-<text>`). */
export const say = (text: string) => (task: TaskRecord) => {
  const at = new Date().toISOString();
  const parts = [{ type: 'TextPart', content: text }];
  return messageAdded(task, { messageId: `msg-${text}`, role: 'agent', parts, timestamp: at }, at);
};
