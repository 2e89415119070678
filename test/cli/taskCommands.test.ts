/**
 * The task CLI driven as a subprocess against the real app: output (human and --json) and
 * exit codes for success, failed tasks, ARC errors and connection failures.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { compiledMain } from '../helpers/childArcd';
import {
  type Running,
  arcResult,
  startArcd,
  textMessage,
  waitForStatus,
} from '../helpers/arcServer';
import { tempDbFile } from '../helpers/tempDb';

function arcd(
  args: string[],
  env: NodeJS.ProcessEnv = { ...process.env, ARCD_REQUEST_AGENT: 'tester' },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [compiledMain, ...args], { env }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let server: Running;
beforeEach(async () => {
  server = await startArcd();
});

test('task create --wait --json follows the task and prints it', async () => {
  const result = await arcd([
    'task',
    'create',
    'echo',
    'hello cli',
    '--wait',
    '--json',
    '--endpoint',
    server.url,
  ]);
  expect(result.code).toBe(0);
  const lines = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(lines.at(-1)).toMatchObject({ status: 'COMPLETED', requestAgent: 'tester' });
  expect(lines.slice(0, -1).map((e) => e.event)).toContain('TASK_COMPLETED');
});

test('human output, send, cancel, info and agents', async () => {
  const created = await arcd([
    'task',
    'create',
    'document-analyzer',
    'a b',
    '--endpoint',
    server.url,
  ]);
  expect(created.code).toBe(0);
  const taskId = created.stdout.split(' ')[0]!;
  expect(created.stdout).toMatch(/^task-\S+ SUBMITTED/);
  await waitForStatus(server.url, 'document-analyzer', taskId, ['INPUT_REQUIRED']);
  const sent = await arcd([
    'task',
    'send',
    'document-analyzer',
    taskId,
    'b',
    '--wait',
    '--endpoint',
    server.url,
  ]);
  expect(sent.code).toBe(0);
  expect(sent.stdout).toMatch(/COMPLETED\nAnalysis done/);
  expect(sent.stderr).toMatch(/TASK_RESUMED WORKING/); // plain progress lines when not a terminal
  const info = await arcd(['task', 'info', 'document-analyzer', taskId, '--endpoint', server.url]);
  expect(info.stdout).toContain(`${taskId} COMPLETED`);
  const slow = (
    await arcd(['task', 'create', 'slow', 'steps=50', '--json', '--endpoint', server.url])
  ).stdout;
  const canceled = await arcd([
    'task',
    'cancel',
    'slow',
    JSON.parse(slow).taskId,
    '--reason',
    'bored',
    '--endpoint',
    server.url,
  ]);
  expect(canceled.stdout).toMatch(/CANCELED \(bored\)/);
  const agents = await arcd(['agents', '--endpoint', server.url]);
  expect(agents.stdout).toMatch(/^document-analyzer\t/m);
  expect(agents.stdout).toMatch(/^echo\t/m);
});

test('an empty ARCD_* variable is taken as unset, as the server takes it', async () => {
  const env = { ...process.env, ARCD_REQUEST_AGENT: '', ARCD_TOKEN: '' };
  const created = await arcd(
    ['task', 'create', 'echo', 'hi', '--json', '--endpoint', server.url],
    env,
  );
  expect(created.code).toBe(0);
  expect(JSON.parse(created.stdout)).toMatchObject({ requestAgent: 'cli' });
});

test('exit codes: 1 failed task, 2 ARC error, 3 connection failure', async () => {
  expect(
    (await arcd(['task', 'create', 'flaky', 'x', '--wait', '--endpoint', server.url])).code,
  ).toBe(1);
  const missing = await arcd(['task', 'info', 'echo', 'task-nope', '--endpoint', server.url]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/ARC error -42001/);
  const down = await arcd([
    'task',
    'info',
    'echo',
    'task-nope',
    '--endpoint',
    'http://127.0.0.1:9',
  ]);
  expect(down.code).toBe(3);
  expect(down.stderr).toMatch(/cannot reach/);
  // With --json, stdout says so too (as it does for an ARC error).
  const downJson = await arcd([
    'task',
    'info',
    'echo',
    'x',
    '--json',
    '--endpoint',
    'http://127.0.0.1:9',
  ]);
  expect(downJson.code).toBe(3);
  expect(JSON.parse(downJson.stdout)).toMatchObject({
    error: { code: 'unreachable', details: { endpoint: 'http://127.0.0.1:9' } },
  });
});

test('exit codes: 4 a waited-for task waits for input, 64 a command line that does not parse', async () => {
  const asked = await arcd([
    'task',
    'create',
    'document-analyzer',
    'a b',
    '--wait',
    '--endpoint',
    server.url,
  ]);
  expect(asked.code).toBe(4);
  expect(asked.stdout).toMatch(/^task-\S+ INPUT_REQUIRED/);
  const taskId = asked.stdout.split(' ')[0]!;
  // Watching it again ends at once: it still waits.
  const watched = await arcd([
    'task',
    'watch',
    'document-analyzer',
    taskId,
    '--json',
    '--endpoint',
    server.url,
  ]);
  expect(watched.code).toBe(4);
  expect(JSON.parse(watched.stdout.trim().split('\n').at(-1)!)).toMatchObject({
    status: 'INPUT_REQUIRED',
  });

  // A multi-agent parent (WORKING) whose child asks: the follow ends at the child's question.
  const family = await arcResult(
    server.url,
    'task.create',
    { initialMessage: textMessage('a b'), assignedAgents: ['echo', 'document-analyzer'] },
    { targetAgent: 'echo', requestAgent: 'tester' },
  );
  const parentId = family.task.taskId as string;
  const child = await arcd(['task', 'watch', 'echo', parentId, '--endpoint', server.url]);
  expect(child.code).toBe(4);
  expect(child.stdout).toContain(`${family.task.childTaskIds[1]} INPUT_REQUIRED`);

  const typo = await arcd(['task', 'create', 'echo', 'hi', '--wiat', '--endpoint', server.url]);
  expect(typo.code).toBe(64);
  expect(typo.stderr).toMatch(/unknown option '--wiat'/);
  const typoJson = await arcd(['task', 'info', 'echo', '--json']);
  expect(typoJson.code).toBe(64);
  expect(JSON.parse(typoJson.stdout)).toMatchObject({
    error: { code: 'usage', details: { reason: 'commander.missingArgument' } },
  });
  expect((await arcd(['task', '--help'])).code).toBe(0);
});

test('a server that answers with no ARC answer is told apart from one not reached', async () => {
  const page = http.createServer((req, res) => {
    req.resume();
    res.writeHead(req.url === '/arc' ? 500 : 404, { 'content-type': 'text/html' });
    res.end('<html>proxy error</html>');
  });
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
  try {
    const info = await arcd(['task', 'info', 'echo', 'task-x', '--json', '--endpoint', endpoint]);
    expect(info.code).toBe(3);
    expect(info.stderr).toMatch(/^arcd: no ARC answer from http:\S+: task.info: HTTP 500/);
    expect(JSON.parse(info.stdout)).toMatchObject({
      error: { code: 'not-arc', details: { endpoint, status: 500 } },
    });
    const agents = await arcd(['agents', '--endpoint', endpoint]);
    expect(agents.code).toBe(3);
    expect(agents.stderr).toMatch(/no ARC answer from .*404/);
  } finally {
    await new Promise<void>((resolve) => page.close(() => resolve()));
  }
});

test('task watch --json prints the events, then the final task, as create --wait does', async () => {
  const created = await arcd([
    'task',
    'create',
    'echo',
    'watch me',
    '--json',
    '--endpoint',
    server.url,
  ]);
  const { taskId } = JSON.parse(created.stdout);
  const watched = await arcd(['task', 'watch', 'echo', taskId, '--json', '--endpoint', server.url]);
  expect(watched.code).toBe(0);
  const lines = watched.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(lines.at(-1)).toMatchObject({ taskId, status: 'COMPLETED' });
});

test("with a token and no --request-agent, the CLI calls as the token's identity", async () => {
  const keys = tempDbFile('cli-keys').replace(/\.db$/, '.json');
  const made = await arcd([
    'token',
    'create',
    '--identity',
    'billing',
    '--scopes',
    'arc.task.controller arc.agent.caller',
    '--api-keys-file',
    keys,
  ]);
  const token = made.stdout.trim();
  const guarded = await startArcd({ config: { auth: 'required', apiKeysFile: keys } });
  const env = { ...process.env };
  delete env.ARCD_REQUEST_AGENT;
  const created = await arcd(
    ['task', 'create', 'echo', 'hi', '--json', '--token', token, '--endpoint', guarded.url],
    env,
  );
  expect(created.code).toBe(0);
  const task = JSON.parse(created.stdout.trim().split('\n').at(-1) as string);
  expect(task.requestAgent).toBe('billing');
  // Its events are shown once: the stream is not opened before the identity is known.
  const watched = await arcd(
    ['task', 'watch', 'echo', task.taskId, '--json', '--token', token, '--endpoint', guarded.url],
    env,
  );
  expect(watched.code).toBe(0);
  const sequences = watched.stdout
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { sequence: number }).sequence);
  expect(sequences).toEqual([...new Set(sequences)]);
  expect(sequences.length).toBeGreaterThan(2);
  // Named explicitly, a wrong requestAgent is still the caller's mistake: -44002, exit 2.
  const wrong = await arcd(
    [
      'task',
      'create',
      'echo',
      'hi',
      '--token',
      token,
      '--request-agent',
      'x',
      '--endpoint',
      guarded.url,
    ],
    env,
  );
  expect(wrong.code).toBe(2);
  expect(wrong.stderr).toMatch(/-44002/);
});

test("help names the environment variables but never prints a token's value", async () => {
  const env = { ...process.env, ARCD_TOKEN: 's3cr3t-token', ARCD_REQUEST_AGENT: 'someone' };
  const help = await arcd(['task', 'info', '--help'], env);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('ARCD_TOKEN');
  expect(help.stdout).not.toContain('s3cr3t-token');
  // The variables still work: the token reaches the server (here refused: no such key).
  const secured = await startArcd({ config: { auth: 'required', jwtSecret: 'x'.repeat(40) } });
  const refused = await arcd(['task', 'info', 'echo', 'task-x', '--endpoint', secured.url], env);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/-44001|Authentication failed/);
});

test("token create reads only the key file's setting, and says what is wrong with the file", async () => {
  const file = tempDbFile('keys').replace(/\.db$/, '.json');
  const env = { ...process.env, ARCD_PORT: 'not a port', ARCD_API_KEYS_FILE: file };
  const created = await arcd(['token', 'create', '--identity', 'robot'], env);
  expect(created.code).toBe(0);
  expect(created.stdout.trim()).toMatch(/^arcd_\S+$/);
  expect(created.stderr).toContain(file);
  fs.writeFileSync(file, '{not json');
  const broken = await arcd(['token', 'create', '--identity', 'robot'], env);
  expect(broken.code).toBe(1);
  expect(broken.stderr).toMatch(new RegExp(`^arcd: ${file}: `));
  expect(broken.stderr).not.toMatch(/\n\s+at /); // no stack trace
});

test('token create takes scopes by spaces, commas or repeats, and refuses ones arcd does not know', async () => {
  const file = tempDbFile('scoped-keys').replace(/\.db$/, '.json');
  const env = { ...process.env, ARCD_API_KEYS_FILE: file };
  const create = (...scopes: string[]) =>
    arcd(
      ['token', 'create', '--identity', 'robot', ...scopes.flatMap((s) => ['--scopes', s])],
      env,
    );
  expect((await create('arc.task.controller,arc.agent.caller', 'arc.admin')).code).toBe(0);
  const stored = () =>
    (JSON.parse(fs.readFileSync(file, 'utf8')) as Array<{ scopes: string[] }>).map((k) => k.scopes);
  expect(stored()).toEqual([['arc.task.controller', 'arc.agent.caller', 'arc.admin']]);
  const typo = await create('arc.task.controler arc.agent.caller');
  expect(typo.code).toBe(64);
  expect(typo.stderr).toMatch(/unknown scopes: arc.task.controler \(known: /);
  expect(typo.stdout).toBe(''); // no token printed
  expect((await create('')).stderr).toMatch(/no scopes/);
  expect(stored()).toHaveLength(1);
});
