/**
 * ApiKeyFile: the key file is looked at again at most once a second, read again when it
 * changed, and a version that does not read keeps the keys as they were, said once.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { ApiKeyFile } from '../../src/auth/apiKeyFile';
import { addApiKey } from '../../src/auth/apiKeys';
import { tempDbFile } from '../helpers/tempDb';
import { compiledMain } from '../helpers/childArcd';

test('changes count from the next look, which a call past the second waits for; an unreadable version is reported once', async () => {
  const file = tempDbFile('keys');
  const first = addApiKey(file, 'dana', ['arc.agent.caller']);
  let now = 0;
  const unreadable: string[] = [];
  const keys = new ApiKeyFile(
    file,
    (error) => unreadable.push(error.message),
    () => now,
  );
  const identity = async (token: string) => (await keys.find(token))?.identity;
  expect(keys.find(first)).toMatchObject({ identity: 'dana' }); // fresh keys: answered at once
  const second = addApiKey(file, 'erin', ['arc.agent.caller']);
  now = 999;
  expect(keys.find(second)).toBeUndefined(); // within the second: not looked at yet
  now = 1000;
  // Past it: this call waits for the look, and sees the key added.
  expect(keys.find(second)).toBeInstanceOf(Promise);
  expect(await identity(second)).toBe('erin');
  // A key taken out stops working at the next look, for the very call that prompts it.
  fs.writeFileSync(file, JSON.stringify(JSON.parse(fs.readFileSync(file, 'utf8')).slice(1)));
  now = 2000;
  expect(await identity(first)).toBeUndefined();
  expect(await identity(second)).toBe('erin');
  fs.writeFileSync(file, '{"not": "a list"}');
  now = 3000;
  expect(await identity(second)).toBe('erin'); // kept
  now = 4000;
  expect(await identity(second)).toBe('erin');
  expect(unreadable).toEqual([expect.stringContaining('expected a JSON array')]);
  fs.rmSync(file); // no file: no keys
  now = 5000;
  expect(await identity(second)).toBeUndefined();
});

test('a clock stepped back does not put off the next look', async () => {
  const file = tempDbFile('keys');
  const kept = addApiKey(file, 'fern', ['arc.agent.caller']);
  let now = 3_600_000;
  const keys = new ApiKeyFile(
    file,
    () => undefined,
    () => now,
  );
  expect(keys.find(kept)).toMatchObject({ identity: 'fern' });
  fs.writeFileSync(file, '[]'); // the key taken out
  now = 1_000; // an hour back
  expect(await keys.find(kept)).toBeUndefined();
});

test('a file that does not read stops the start', () => {
  const file = tempDbFile('bad-keys');
  fs.writeFileSync(file, 'nope');
  expect(() => new ApiKeyFile(file, () => undefined)).toThrow(SyntaxError);
});

test("token create keeps the file's mode and the symlink naming it", () => {
  const real = tempDbFile('real-keys');
  addApiKey(real, 'dana', ['arc.agent.caller']);
  expect(fs.statSync(real).mode & 0o777).toBe(0o600); // a new file: 0600
  fs.chmodSync(real, 0o640);
  const link = `${real}.link`;
  fs.symlinkSync(real, link);
  const token = addApiKey(link, 'erin', ['arc.agent.caller']);
  expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
  expect(fs.statSync(real).mode & 0o777).toBe(0o640);
  const keys = new ApiKeyFile(real, () => undefined);
  expect(keys.find(token)).toMatchObject({ identity: 'erin' });
});

test('token create run several times at once keeps every key', async () => {
  const file = tempDbFile('raced-keys');
  const identities = ['ann', 'bob', 'cat', 'dan', 'eve', 'fay', 'gus', 'hal', 'ivy', 'jo'];
  const created = await Promise.all(
    identities.map(
      (identity) =>
        new Promise<string>((resolve, reject) =>
          execFile(
            process.execPath,
            [compiledMain, 'token', 'create', '--identity', identity, '--api-keys-file', file],
            (error, stdout) => (error ? reject(error) : resolve(stdout.trim())),
          ),
        ),
    ),
  );
  const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Array<{ identity: string }>;
  expect(stored.map((entry) => entry.identity).sort()).toEqual(identities);
  expect(new Set(created).size).toBe(identities.length);
  expect(fs.existsSync(`${file}.lock`)).toBe(false);
});

test('token create with an empty --identity is a usage error, and stores nothing', async () => {
  const file = tempDbFile('empty-identity');
  const code = await new Promise<number | null>((resolve) => {
    const child = execFile(process.execPath, [
      compiledMain,
      'token',
      'create',
      '--identity',
      '',
      '--api-keys-file',
      file,
    ]);
    child.on('exit', resolve);
  });
  expect(code).toBe(64);
  expect(fs.existsSync(file)).toBe(false);
});
