/**
 * prefixBody: what an answer may echo of a body cut short. Whatever the cut, each member it
 * reads is the member as sent (never a half-read value), and members before the cut's reach
 * are all read.
 */
import fc from 'fast-check';
import { prefixBody } from '../../src/rpc/jsonScan';

const envelope = fc.record({
  arc: fc.constant('1.0'),
  id: fc.oneof(fc.string(), fc.integer()),
  method: fc.constantFrom('task.create', 'chat.start', 'chat.message'),
  requestAgent: fc.string(),
  targetAgent: fc.string(),
  params: fc.record({
    chatId: fc.string(),
    stream: fc.boolean(),
    initialMessage: fc.jsonValue(),
  }),
  extra: fc.jsonValue(),
});

test('every member read from a cut body is the member as sent', () => {
  fc.assert(
    fc.property(envelope, fc.nat(), fc.constantFrom(0, 1), (sent, at, indent) => {
      const text = JSON.stringify(sent, null, indent);
      // As JSON carries it (the generator's -0 is written 0).
      const asSent = JSON.parse(text) as typeof sent;
      const read = prefixBody(text.slice(0, at % (text.length + 1)));
      if (at % (text.length + 1) === 0) return expect(read).toBeUndefined();
      expect(read).toBeDefined();
      for (const [key, value] of Object.entries(read ?? {})) {
        if (key === 'params') {
          for (const [name, part] of Object.entries(value as object)) {
            expect(part).toEqual(asSent.params[name as 'chatId' | 'stream']);
          }
        } else {
          expect(value).toEqual(asSent[key as keyof typeof sent]);
        }
      }
      expect(read).not.toHaveProperty('extra');
    }),
  );
});

test('the envelope written before the cut is all read, params up to it too', () => {
  const text =
    '{"arc":"1.0","id":7,"method":"chat.start","requestAgent":"a","targetAgent":"b",' +
    '"params":{"chatId":"c-1","stream":true,"initialMessage":{"parts":[{"content":"xxxx';
  expect(prefixBody(text)).toEqual({
    arc: '1.0',
    id: 7,
    method: 'chat.start',
    requestAgent: 'a',
    targetAgent: 'b',
    params: { chatId: 'c-1', stream: true },
  });
  // A number the cut may have ended early is not taken.
  expect(prefixBody('{"arc":"1.0","id":12')).toEqual({ arc: '1.0' });
  expect(prefixBody('[{"id":1}')).toBeUndefined();
});

test('a key that is not JSON (a bad escape) ends the reading, with what came before it', () => {
  expect(prefixBody('{"id":"x-1","\\q":1,"arc":"1.0","method":"task.cr')).toEqual({ id: 'x-1' });
  expect(prefixBody('{"\\u12":1,"id":2')).toEqual({});
  // A good escape is read as the key it names.
  expect(prefixBody('{"\\u0069d":"esc","arc":"1.0","x":"yy')).toEqual({ id: 'esc', arc: '1.0' });
});
