/**
 * Files through the whole path: task.create → handler (ctx.files/images/text) → artifact →
 * task.info, byte for byte, for each part kind; large contents stored once outside the hot
 * rows and removed with their task; the per-part and per-message limits and content checks.
 */
import { createHash, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { defineAgent } from '../../src/agents/contract';
import { type WireJson, arcCall, arcResult, startArcd, waitForStatus } from '../helpers/arcServer';

const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(300)]);
const wav = Buffer.concat([
  Buffer.from('RIFF'),
  Buffer.alloc(4),
  Buffer.from('WAVEfmt '),
  randomBytes(200),
]);
const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(5 * 1024 * 1024)]);

const seen: WireJson[] = [];
/** Hands every input file back as an artifact, and reports what the context showed it. */
const mirror = defineAgent({
  id: 'mirror',
  description: 'returns its input files as artifacts',
  async handle(ctx) {
    seen.push({
      files: ctx.files().map((f) => [f.name, f.mimeType, f.size, f.partType]),
      images: ctx.images().map((f) => f.name),
      text: ctx.text(),
    });
    const data = ctx.input[0]?.parts.find((p) => p.type === 'DataPart');
    if (data) await ctx.addArtifact({ name: 'data', parts: [data] });
    for (const file of ctx.files()) {
      await ctx.addArtifact({
        name: file.name ?? 'file',
        parts: [
          {
            type: file.partType,
            mimeType: file.mimeType,
            content: file.data.toString('base64'),
            ...(file.name ? { filename: file.name } : {}),
          },
        ],
      });
    }
  },
});

const part = (type: string, data: Buffer, mimeType: string, filename: string) => ({
  type,
  mimeType,
  filename,
  content: data.toString('base64'),
});

test('files of each kind round-trip byte for byte; the handler sees them decoded', async () => {
  const arcd = await startArcd({
    agents: [mirror],
    bundled: false,
    config: { maxBodyBytes: 8 * 1024 * 1024 },
  });
  const notes = Buffer.from('line one\nline two ✓\n');
  const initialMessage = {
    role: 'user',
    parts: [
      { type: 'TextPart', content: 'please mirror' },
      part('FilePart', pdf, 'application/pdf', 'report.pdf'),
      part('ImagePart', png, 'image/png', 'chart.png'),
      part('audio', wav, 'audio/wav', 'voice.wav'),
      part('FilePart', notes, 'text/plain', 'notes.txt'),
      { type: 'DataPart', content: { rows: [1, 2, 3] } },
    ],
  };
  const { task } = await arcResult(
    arcd.url,
    'task.create',
    { initialMessage },
    { targetAgent: 'mirror' },
  );
  const done = await waitForStatus(arcd.url, 'mirror', task.taskId, ['COMPLETED'], {
    targetAgent: 'mirror',
  });
  expect(done.messages[0].parts).toEqual(initialMessage.parts);
  const byName = Object.fromEntries(
    done.artifacts
      .filter((a: WireJson) => a.name !== 'data')
      .map((a: WireJson) => [a.name, Buffer.from(a.parts[0].content, 'base64')]),
  );
  expect(byName['report.pdf'].equals(pdf)).toBe(true);
  expect(byName['chart.png'].equals(png)).toBe(true);
  expect(byName['voice.wav'].equals(wav)).toBe(true);
  expect(byName['notes.txt'].equals(notes)).toBe(true);
  const dataArtifact = done.artifacts.find((a: WireJson) => a.name === 'data');
  expect(dataArtifact.parts).toEqual([{ type: 'DataPart', content: { rows: [1, 2, 3] } }]);
  expect(seen.at(-1)).toEqual({
    files: [
      ['report.pdf', 'application/pdf', pdf.length, 'FilePart'],
      ['chart.png', 'image/png', png.length, 'ImagePart'],
      ['voice.wav', 'audio/wav', wav.length, 'audio'],
      ['notes.txt', 'text/plain', notes.length, 'FilePart'],
    ],
    images: ['chart.png'],
    text: 'please mirror\nline one\nline two ✓\n',
  });

  // The 5 MiB file is one blob row although it is in a message, an artifact and two events.
  const db = new Database(arcd.db, { readonly: true });
  const blobs = db.prepare('SELECT blob_id, size FROM blobs').all() as Array<{ size: number }>;
  expect(blobs.map((b) => b.size)).toEqual([pdf.toString('base64').length]);
  const hot = db.prepare('SELECT MAX(length(parts)) AS n FROM messages').get() as { n: number };
  expect(hot.n).toBeLessThan(4096);
  db.close();
  const events = await arcResult(
    arcd.url,
    'task.events',
    { taskId: task.taskId },
    { targetAgent: 'mirror' },
  );
  const firstMessage = events.events.find((e: WireJson) => e.event === 'NEW_MESSAGE');
  expect(firstMessage.data.messageContent.parts[1].content).toBe(pdf.toString('base64'));

  await arcResult(arcd.url, 'task.delete', { taskId: task.taskId }, { targetAgent: 'mirror' });
  const after = new Database(arcd.db, { readonly: true });
  expect(after.prepare('SELECT COUNT(*) AS n FROM blobs').get()).toEqual({ n: 0 });
  after.close();
});

test('a file two tasks sent is stored once, and goes with the last of them', async () => {
  const arcd = await startArcd({ agents: [mirror], bundled: false });
  const shared = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(100 * 1024)]);
  const on = { targetAgent: 'mirror' };
  const send = async () => {
    const { task } = await arcResult(
      arcd.url,
      'task.create',
      {
        initialMessage: {
          role: 'user',
          parts: [part('FilePart', shared, 'application/pdf', 'same.pdf')],
        },
      },
      on,
    );
    await waitForStatus(arcd.url, 'mirror', task.taskId, ['COMPLETED'], on);
    return task.taskId as string;
  };
  const first = await send();
  const second = await send();
  const blobCount = () => {
    const db = new Database(arcd.db, { readonly: true });
    const { n } = db.prepare('SELECT COUNT(*) AS n FROM blobs').get() as { n: number };
    db.close();
    return n;
  };
  expect(blobCount()).toBe(1);
  await arcResult(arcd.url, 'task.delete', { taskId: first }, on);
  expect(blobCount()).toBe(1); // the second task still uses it
  const kept = await arcResult(arcd.url, 'task.info', { taskId: second }, on);
  expect(Buffer.from(kept.task.messages[0].parts[0].content, 'base64').equals(shared)).toBe(true);
  await arcResult(arcd.url, 'task.delete', { taskId: second }, on);
  expect(blobCount()).toBe(0);
});

test("data shaped like a stored file's reference comes back as sent, not as that file", async () => {
  const arcd = await startArcd({ agents: [mirror], bundled: false });
  const secret = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(100 * 1024)]);
  const on = { targetAgent: 'mirror' };
  const { task: first } = await arcResult(
    arcd.url,
    'task.create',
    {
      initialMessage: {
        role: 'user',
        parts: [part('FilePart', secret, 'application/pdf', 's.pdf')],
      },
    },
    { ...on, requestAgent: 'alice' },
  );
  await waitForStatus(arcd.url, 'mirror', first.taskId, ['COMPLETED'], {
    ...on,
    requestAgent: 'alice',
  });
  // Another caller names that content's hash, as the store's own reference would.
  const blobId = createHash('sha256').update(secret.toString('base64')).digest('hex');
  const probe = { $arcdBlob: blobId };
  // The same, as a file part's content nested in a data part (only top-level parts are checked).
  const nested = { type: 'FilePart', mimeType: 'application/pdf', content: probe };
  const asker = { ...on, requestAgent: 'mallory' };
  const { task } = await arcResult(
    arcd.url,
    'task.create',
    {
      initialMessage: {
        role: 'user',
        parts: [
          { type: 'DataPart', content: probe },
          { type: 'DataPart', content: { file: nested } },
        ],
      },
    },
    asker,
  );
  const done = await waitForStatus(arcd.url, 'mirror', task.taskId, ['COMPLETED'], asker);
  expect(done.messages[0].parts[0].content).toEqual(probe);
  expect(done.messages[0].parts[1].content).toEqual({ file: nested });
  expect(done.artifacts[0].parts[0].content).toEqual(probe);
});

test('parts over the per-part or per-message limit are -45004 naming the part', async () => {
  const arcd = await startArcd({ config: { maxPartBytes: 1000, maxMessageBytes: 1500 } });
  const big = await arcCall(arcd.url, 'task.create', {
    initialMessage: {
      role: 'user',
      parts: [part('FilePart', randomBytes(1001), 'application/octet-stream', 'a')],
    },
  });
  expect(big.body.error).toMatchObject({
    code: -45004,
    details: { field: 'initialMessage.parts.0', sizeBytes: 1001, limitBytes: 1000 },
  });
  const many = await arcCall(arcd.url, 'task.create', {
    initialMessage: {
      role: 'user',
      parts: [
        part('FilePart', randomBytes(800), 'application/octet-stream', 'a'),
        { type: 'TextPart', content: 'x'.repeat(800) },
      ],
    },
  });
  expect(many.body.error).toMatchObject({
    code: -45004,
    details: { field: 'initialMessage', sizeBytes: 1600, limitBytes: 1500 },
  });
  const fits = await arcCall(arcd.url, 'task.create', {
    initialMessage: {
      role: 'user',
      parts: [part('FilePart', randomBytes(1000), 'application/octet-stream', 'a')],
    },
  });
  expect(fits.body.error).toBeNull();
  const send = await arcCall(arcd.url, 'task.send', {
    taskId: fits.body.result.task.taskId,
    message: { role: 'user', parts: [{ type: 'TextPart', content: 'y'.repeat(1001) }] },
  });
  expect(send.body.error).toMatchObject({ code: -45004, details: { field: 'message.parts.0' } });
});

test('content that does not match its declared type is -32602', async () => {
  const arcd = await startArcd();
  const cases: Array<[object, RegExp]> = [
    [part('ImagePart', pdf.subarray(0, 100), 'image/png', 'x.png'), /content is not image\/png/],
    [part('ImagePart', png, 'application/pdf', 'x.pdf'), /image part needs an image/],
    [part('AudioPart', wav, 'video/mp4', 'x.mp4'), /audio part needs an audio/],
    [{ type: 'FilePart', mimeType: 'application/pdf', content: 'not base64!' }, /not valid base64/],
    [part('FilePart', Buffer.from([0xff, 0xfe, 0x00]), 'text/plain', 'x.txt'), /not valid UTF-8/],
    [part('FilePart', Buffer.from('{nope'), 'application/json', 'x.json'), /not valid JSON/],
    [{ ...part('FilePart', png, 'image/png', 'x.png'), size: 3 }, /size says 3 bytes/],
  ];
  for (const [bad, message] of cases) {
    const reply = await arcCall(arcd.url, 'task.create', {
      initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 'x' }, bad] },
    });
    expect(reply.body.error).toMatchObject({
      code: -32602,
      details: {
        errors: [
          { field: 'initialMessage.parts.1.content', message: expect.stringMatching(message) },
        ],
      },
    });
  }
  const utf8 = await arcCall(arcd.url, 'task.create', {
    initialMessage: {
      role: 'user',
      parts: [
        { type: 'FilePart', mimeType: 'text/markdown', encoding: 'utf8', content: '# plain text' },
      ],
    },
  });
  expect(utf8.body.error).toBeNull();
  expect((await arcResult(arcd.url, 'task.list', {})).tasks).toHaveLength(1);
});

test('encoding "binary" is one byte a character, never read as base64', async () => {
  const bytes: number[] = [];
  const files = defineAgent({
    id: 'bytes',
    description: 'reports the bytes of its input files',
    handle(ctx) {
      for (const file of ctx.files()) bytes.push(...file.data);
      return 'seen';
    },
  });
  const seeing = await startArcd({ agents: [files], bundled: false });
  // Text that happens to be base64 too: as binary it is these four bytes, not three decoded.
  const sent = { type: 'FilePart', mimeType: 'application/octet-stream', encoding: 'binary' };
  const created = await arcResult(
    seeing.url,
    'task.create',
    { initialMessage: { role: 'user', parts: [{ ...sent, content: 'QUJD\u00ff' }] } },
    { targetAgent: 'bytes' },
  );
  await waitForStatus(seeing.url, 'bytes', created.task.taskId, ['COMPLETED'], {
    targetAgent: 'bytes',
  });
  expect(bytes).toEqual([0x51, 0x55, 0x4a, 0x44, 0xff]);
  const wide = await arcCall(
    seeing.url,
    'task.create',
    { initialMessage: { role: 'user', parts: [{ ...sent, content: 'caf\u00e9 \u20ac' }] } },
    { targetAgent: 'bytes' },
  );
  expect(wide.body.error).toMatchObject({
    code: -32602,
    details: { errors: [{ message: expect.stringMatching(/not binary/) }] },
  });
});

test('text in the charset its mime type names is accepted, and read in it', async () => {
  const arcd = await startArcd({ agents: [mirror], bundled: false });
  seen.length = 0;
  const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in windows-1252
  const { task } = await arcResult(
    arcd.url,
    'task.create',
    {
      initialMessage: {
        role: 'user',
        parts: [part('FilePart', latin1, 'text/csv; charset=windows-1252', 'menu.csv')],
      },
    },
    { targetAgent: 'mirror' },
  );
  await waitForStatus(arcd.url, 'mirror', task.taskId, ['COMPLETED'], { targetAgent: 'mirror' });
  expect(seen[0]).toMatchObject({ text: 'café' });
  // Sent as utf8 text, the bytes are UTF-8 whatever charset the type names.
  const { task: typed } = await arcResult(
    arcd.url,
    'task.create',
    {
      initialMessage: {
        role: 'user',
        parts: [
          {
            type: 'FilePart',
            encoding: 'utf8',
            content: '日本語',
            mimeType: 'text/plain; charset=shift_jis',
          },
        ],
      },
    },
    { targetAgent: 'mirror' },
  );
  await waitForStatus(arcd.url, 'mirror', typed.taskId, ['COMPLETED'], { targetAgent: 'mirror' });
  expect(seen[1]).toMatchObject({ text: '日本語' });
  // The same bytes said to be UTF-8 (no charset) are still refused.
  const refused = await arcCall(
    arcd.url,
    'task.create',
    { initialMessage: { role: 'user', parts: [part('FilePart', latin1, 'text/csv', 'm.csv')] } },
    { targetAgent: 'mirror' },
  );
  expect(refused.body.error).toMatchObject({ code: -32602 });
});

test('ctx.images() takes a file whose media type names an image in any case', async () => {
  const arcd = await startArcd({ agents: [mirror], bundled: false });
  seen.length = 0;
  const initialMessage = { role: 'user', parts: [part('FilePart', png, 'Image/PNG', 'shout.png')] };
  const { task } = await arcResult(
    arcd.url,
    'task.create',
    { initialMessage },
    { targetAgent: 'mirror' },
  );
  await waitForStatus(arcd.url, 'mirror', task.taskId, ['COMPLETED', 'FAILED'], {
    targetAgent: 'mirror',
  });
  expect(seen.at(-1)?.images).toEqual(['shout.png']);
});
