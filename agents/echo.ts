/**
 * echo: replies with exactly the parts it was sent (text, data, files alike) and completes;
 * in a chat it streams the text back word by word.
 * The smallest useful agent, and the model for writing your own.
 */
import { defineAgent } from '../src/agents/contract';

export default defineAgent({
  id: 'echo',
  name: 'Echo',
  description: 'Replies with its input, part for part, and completes.',
  skills: [{ id: 'echo', name: 'Echo', description: 'Returns what it receives.' }],
  // It only computes, so its first turn may start while its task's create commits.
  pure: true,
  handle(ctx) {
    return { parts: ctx.input.flatMap((message) => message.parts) };
  },
  /** In chats, echoes the text back word by word (one stream chunk per word). */
  async *chat(ctx) {
    const words = ctx.text().split(/(\s+)/).filter(Boolean);
    for (const word of words) {
      if (ctx.signal.aborted) return;
      yield word;
    }
  },
});
