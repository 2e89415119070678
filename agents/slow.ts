/**
 * slow: works in 200 ms steps (`steps=N` in its input, default 50), replying with progress
 * after each, and stops at once when its task is canceled. For cancel and shutdown tests.
 */
import { defineAgent } from '../src/agents/contract';

const STEP_MS = 200;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export default defineAgent({
  id: 'slow',
  name: 'Slow worker',
  description: 'Works in 200 ms steps (steps=N, default 50), reporting progress; honours cancel.',
  async handle(ctx) {
    const match = /steps\s*=\s*(\d+)/i.exec(ctx.text());
    const steps = Math.min(match ? Number(match[1]) : 50, 10_000);
    for (let step = 1; step <= steps; step += 1) {
      await sleep(STEP_MS, ctx.signal);
      await ctx.reply(`step ${step}/${steps}`);
    }
    return `done after ${steps} steps`;
  },
});
