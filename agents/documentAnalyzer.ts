/**
 * document-analyzer: takes a document as text, asks once what to focus on (→ INPUT_REQUIRED),
 * then produces an `analysis` artifact (counts and the lines that mention the focus) and
 * completes. Shows the pause/resume contract.
 */
import { defineAgent } from '../src/agents/contract';
import { readableText } from '../src/parts/fileParts';
import type { Message } from '../src/types';

const ID = 'document-analyzer';

function analyse(document: string, focus: string) {
  const words = document.split(/\s+/).filter(Boolean);
  const lines = document.split('\n');
  const needle = focus.toLowerCase();
  return {
    focus,
    words: words.length,
    lines: lines.length,
    characters: document.length,
    mentions: needle ? lines.filter((line) => line.toLowerCase().includes(needle)) : [],
  };
}

export default defineAgent({
  id: ID,
  name: 'Document analyzer',
  description:
    'Analyzes a text document; asks once what to focus on, then returns an analysis artifact.',
  skills: [{ id: 'analyze', name: 'Analyze a document', description: 'Counts and focus lines.' }],
  pure: true,
  async handle(ctx) {
    // This run's conversation only (task.run gives a finished task a new document): the
    // question asked, and the document before it, are this run's.
    const run = ctx.history.slice(ctx.runStart);
    const own = (message: Message) => message.role === 'agent' && message.agentId === ID;
    const firstOwn = run.findIndex(own);
    if (firstOwn < 0) {
      await ctx.requestInput('What should the analysis focus on? Reply with a word or phrase.', {
        reason: 'focus needed',
        requiredInput: { type: 'text', description: 'the topic to look for' },
      });
      return;
    }
    // Text parts and text-like files (a document sent as a text/plain FilePart) alike.
    const document = readableText(run.slice(0, firstOwn));
    const focus = ctx.text().trim();
    const analysis = analyse(document, focus);
    await ctx.addArtifact({
      name: 'analysis',
      description: `Analysis of the document, focused on "${focus}"`,
      parts: [{ type: 'DataPart', content: analysis, mimeType: 'application/json' }],
    });
    return `Analysis done: ${analysis.words} words, ${analysis.mentions.length} lines mention "${focus}".`;
  },
});
