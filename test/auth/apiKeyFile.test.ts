/**
 * ApiKeyFile: the key file is looked at again at most once a second, read again when it
 * changed, and a version that does not read keeps the keys as they were, said once.
 */
import fs from 'node:fs';
import { ApiKeyFile } from '../../src/auth/apiKeyFile';
import { addApiKey } from '../../src/auth/apiKeys';
import { tempDbFile } from '../helpers/tempDb';

test('changes count after the next look; an unreadable version is reported once', async () => {
  const file = tempDbFile('keys');
  const first = addApiKey(file, 'dana', ['arc.agent.caller']);
  let now = 0;
  const unreadable: string[] = [];
  const keys = new ApiKeyFile(
    file,
    (error) => unreadable.push(error.message),
    () => now,
  );
  expect(keys.find(first)?.identity).toBe('dana');
  const second = addApiKey(file, 'erin', ['arc.agent.caller']);
  now = 999;
  expect(keys.find(second)).toBeUndefined(); // not looked at yet
  await keys.looked();
  expect(keys.find(second)).toBeUndefined();
  now = 1000;
  expect(keys.find(second)).toBeUndefined(); // the look begins: this call is not held for it
  await keys.looked();
  expect(keys.find(second)?.identity).toBe('erin');
  fs.writeFileSync(file, '{"not": "a list"}');
  now = 2000;
  keys.find(second);
  await keys.looked();
  expect(keys.find(second)?.identity).toBe('erin'); // kept
  now = 3000;
  keys.find(first);
  await keys.looked();
  expect(keys.find(first)?.identity).toBe('dana');
  expect(unreadable).toEqual([expect.stringContaining('expected a JSON array')]);
  fs.rmSync(file); // no file: no keys
  now = 4000;
  keys.find(first);
  await keys.looked();
  expect(keys.find(first)).toBeUndefined();
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
  expect(keys.find(token)?.identity).toBe('erin');
});
