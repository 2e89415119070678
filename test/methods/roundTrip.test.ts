/**
 * Unicode, binary (base64) and large-but-allowed parts survive create → handler → storage →
 * task.info byte for byte.
 */
import { randomBytes } from 'node:crypto';
import { arcResult, startArcd, waitForStatus } from '../helpers/arcServer';

test('parts round-trip byte for byte through the echo agent', async () => {
  const arcd = await startArcd();
  const binary = randomBytes(600 * 1024);
  const text = 'naïve café — שלום — 你好 — 🧑🏽‍🚀 — e\u0301 — \u0000 — \u202e reversed — \ud83d\ude00';
  const parts = [
    { type: 'TextPart', content: text },
    {
      type: 'FilePart',
      content: binary.toString('base64'),
      mimeType: 'application/octet-stream',
      filename: 'ünïcödé.bin',
      encoding: 'base64',
      size: binary.length,
    },
    {
      type: 'data',
      content: {
        ключ: ['值', 1.5e300, -0.000001, true, null, { '🔑': '✓' }],
        big: Number.MAX_SAFE_INTEGER,
      },
    },
  ];
  const { task } = await arcResult(arcd.url, 'task.create', {
    initialMessage: { role: 'user', parts },
  });
  const done = await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
  const [sent, echoed] = done.messages;
  expect(sent.parts).toEqual(parts);
  // The echo is the server's message: its data part in the spec's spelling, bytes unchanged.
  expect(echoed.parts).toEqual(
    parts.map((p) => (p.type === 'data' ? { ...p, type: 'DataPart' } : p)),
  );
  for (const message of done.messages) {
    expect(Buffer.from(message.parts[1].content, 'base64').equals(binary)).toBe(true);
    expect(message.parts[0].content).toBe(text);
  }
});
