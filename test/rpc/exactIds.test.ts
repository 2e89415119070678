/**
 * Numeric ids JSON.parse cannot keep (past 2^53, beyond a double, written with a fraction)
 * come back exactly as sent: on the real route for ARC and JSON-RPC, answers and errors, and,
 * for the scan that finds them, over generated bodies.
 */
import fc from 'fast-check';
import { keepExactIds, restoreExactIds } from '../../src/rpc/exactIds';
import { type Running, post, startArcd, textMessage } from '../helpers/arcServer';

const BIG = '12345678901234567890';

function arcBody(idText: string, method = 'task.create'): string {
  const rest = JSON.stringify({
    arc: '1.0',
    method,
    requestAgent: 'tester',
    targetAgent: 'echo',
    params: { initialMessage: textMessage('hi'), metadata: { id: 1 } },
  });
  return `{"id": ${idText}, ${rest.slice(1)}`;
}

describe('on the route', () => {
  let arcd: Running;
  afterEach(async () => arcd.close());

  test('an ARC answer echoes an id past 2^53 digit for digit', async () => {
    arcd = await startArcd();
    const reply = await post(arcd.url, arcBody(BIG), { raw: true });
    expect(reply.status).toBe(200);
    expect(reply.text).toContain(`"id":${BIG},`);
    expect(reply.body.result.task.status).toBe('SUBMITTED');
    // No stand-in leaks into the answer, and the params' own `id` (metadata) is not the echo.
    expect(reply.text).not.toContain('arcd-exact-id');
    expect(reply.body.result.task.metadata).toEqual({ id: 1 });
  });

  test('ARC errors echo 1e400 and 1.50 as written', async () => {
    arcd = await startArcd();
    const overflow = await post(arcd.url, arcBody('1e400', 'no.such'), { raw: true });
    expect(overflow.body.error.code).toBe(-32601);
    expect(overflow.text).toContain('"id":1e400,');
    const fraction = await post(arcd.url, arcBody('-1.50', 'no.such'), { raw: true });
    expect(fraction.text).toContain('"id":-1.50,');
  });

  test('a JSON-RPC batch echoes each id as written', async () => {
    arcd = await startArcd();
    const call = (id: string, method: string) =>
      `{"jsonrpc":"2.0","method":"${method}","id":${id},"requestAgent":"t","targetAgent":"echo","params":{"taskId":"task-none"}}`;
    const batch = `[ ${call(BIG, 'task.info')} ,${call('"s"', 'task.info')},\n${call('-9007199254740993', 'nope')}]`;
    const reply = await post(arcd.url, batch, { raw: true });
    const ids = [...reply.text.matchAll(/"id":([^,}]+)/g)].map((m) => m[1]);
    expect(ids).toEqual([BIG, '"s"', '-9007199254740993']);
    expect(reply.body.map((r: { error: { code: number } }) => r.error.code)).toEqual([
      -42001, -42001, -32601,
    ]);
  });

  test('an early error (rate limited) echoes the id as written', async () => {
    arcd = await startArcd({ config: { rateLimitPerMinute: 1 } });
    await post(arcd.url, arcBody('1'), { raw: true });
    const limited = await post(arcd.url, arcBody(BIG), { raw: true });
    expect(limited.body.error.code).toBe(-44007);
    expect(limited.text).toContain(`"id":${BIG},`);
  });
});

describe('keepExactIds', () => {
  test('leaves string ids and safe integers alone', () => {
    for (const text of ['{"id":"a"}', '{"id":42}', '[{"id":1},{"id":"x"}]', '{}', '[]']) {
      const body: unknown = JSON.parse(text);
      expect(keepExactIds(body, text)).toBeUndefined();
      expect(body).toEqual(JSON.parse(text));
    }
  });

  test('takes the last id, written with escapes or not, and skips nested ones', () => {
    const text = `{"id":1,"params":{"id":2.5,"a":["}",{"id":3}]},"\\u0069d" : ${BIG} }`;
    const body = JSON.parse(text) as { id: unknown };
    const ids = keepExactIds(body, text);
    expect(typeof body.id).toBe('string');
    expect(restoreExactIds(JSON.stringify({ id: body.id }), ids!)).toBe(`{"id":${BIG}}`);
  });

  const literal = fc.oneof(
    fc.bigInt({ min: 2n ** 53n, max: 2n ** 70n }).map(String),
    fc.bigInt({ min: -(2n ** 70n), max: -(2n ** 53n) - 1n }).map(String),
    fc.constantFrom('1e400', '-1e400', '0.5', '1.50', '3.14159265358979323846', '2E+20'),
  );
  const others = fc.dictionary(
    fc.string().filter((key) => key !== 'id'),
    fc.jsonValue(),
    { maxKeys: 5 },
  );

  test('any object: the id comes back as written, wherever it stands', () => {
    fc.assert(
      fc.property(
        literal,
        others,
        fc.nat(),
        fc.constantFrom(0, 2, '\t'),
        (id, rest, at, indent) => {
          const entries = Object.entries(rest);
          entries.splice(at % (entries.length + 1), 0, ['id', '__ID__']);
          const text = JSON.stringify(Object.fromEntries(entries), null, indent).replace(
            '"__ID__"',
            id,
          );
          const body = JSON.parse(text) as Record<string, unknown>;
          const ids = keepExactIds(body, text);
          expect(ids).toBeDefined();
          const answer = JSON.stringify({ before: rest, id: body.id, after: 1 });
          expect(restoreExactIds(answer, ids!)).toBe(
            `{"before":${JSON.stringify(rest)},"id":${id},"after":1}`,
          );
        },
      ),
    );
  });

  test('any batch: each element keeps its own id', () => {
    fc.assert(
      fc.property(fc.array(fc.option(literal), { maxLength: 6 }), others, (idList, rest) => {
        const items = idList.map((id, i) => ({
          ...rest,
          n: i,
          id: id === null ? i : `__ID${i}__`,
        }));
        let text = JSON.stringify(items, null, 1);
        idList.forEach((id, i) => {
          if (id !== null) text = text.replace(`"__ID${i}__"`, id);
        });
        const body = JSON.parse(text) as Array<{ id: unknown }>;
        const ids = keepExactIds(body, text);
        const echoed = restoreExactIds(JSON.stringify(body.map((b) => b.id)), ids ?? new Map());
        expect(echoed).toBe(`[${idList.map((id, i) => id ?? String(i)).join(',')}]`);
      }),
    );
  });
});
