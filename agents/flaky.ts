/**
 * flaky: fails with a clear error. With `succeed-after=N` in its input it fails its first N
 * attempts and then completes: a fixture for retry behaviour.
 */
import { defineAgent } from '../src/agents/contract';

export default defineAgent({
  id: 'flaky',
  name: 'Flaky worker',
  description:
    'Fails on purpose; with succeed-after=N it fails its first N attempts, then succeeds.',
  handle(ctx) {
    const match = /succeed-after\s*=\s*(\d+)/i.exec(ctx.text());
    const failures = match ? Number(match[1]) : Number.POSITIVE_INFINITY;
    if (ctx.attempt <= failures) {
      const limit = Number.isFinite(failures) ? ` of ${failures}` : '';
      throw new Error(`flaky agent failed on purpose (attempt ${ctx.attempt}${limit})`);
    }
    return `succeeded on attempt ${ctx.attempt}`;
  },
});
