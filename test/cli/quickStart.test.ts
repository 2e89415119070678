/**
 * The README's quick start, for real: the compiled `arcd` (what `npm start` runs) started as a
 * child process with its settings from the environment and flags, used over HTTP, then stopped
 * with SIGTERM; a task it was working on is finished by the next start on the same file.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../src/paths';
import { createTask, waitForStatus } from '../helpers/arcServer';
import { tempDbFile } from '../helpers/tempDb';

const main = path.join(projectRoot, 'dist', 'src', 'main.js');

interface Child {
  process: ChildProcess;
  url: string;
  logs: string[];
  exited: Promise<number | null>;
}

function startChild(args: string[], env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, [main, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stderr.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        logs.push(line);
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'arcd listening' && entry.url) {
          resolve({ process: child, url: entry.url, logs, exited });
        }
      }
    });
    void exited.then((code) =>
      reject(new Error(`arcd exited early (${code}): ${logs.join('\n')}`)),
    );
  });
}

const children = new Set<ChildProcess>();

// Leak guard: no child server outlives its test, whatever happened in it.
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
});

beforeAll(() => {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: projectRoot, stdio: 'inherit' });
}, 120_000);

describe('arcd command line', () => {
  test('starts from env and flags, serves the bundled agents, stops on SIGTERM, resumes work', async () => {
    const db = tempDbFile('cli');
    const first = await startChild(['serve', '--port', '0'], {
      ARCD_DB: db,
      ARCD_HOST: '127.0.0.1',
      ARCD_LOG_LEVEL: 'info',
    });
    const echo = await createTask(first.url, 'echo', 'from the command line');
    await waitForStatus(first.url, 'echo', echo.taskId, ['COMPLETED']);
    const slow = await createTask(first.url, 'slow', 'steps=4');
    await waitForStatus(first.url, 'slow', slow.taskId, ['WORKING']);

    first.process.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.logs.some((line) => line.includes('arcd stopped'))).toBe(true);

    const second = await startChild(['--port', '0', '--db', db], { ARCD_LOG_LEVEL: 'info' });
    try {
      const done = await waitForStatus(second.url, 'slow', slow.taskId, ['COMPLETED']);
      expect(done.messages.at(-1).parts[0].content).toBe('done after 4 steps');
    } finally {
      second.process.kill('SIGTERM');
      await second.exited;
    }
  });

  test('a bad setting stops the start with a clear message', async () => {
    const child = spawn(process.execPath, [main, '--port', 'eighty'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/--port: expected a whole number/);
  });

  test('serve --help lists every setting with its environment variable and default', () => {
    const help = execFileSync(process.execPath, [main, 'serve', '--help'])
      .toString()
      .replace(/\s+/g, ' ');
    for (const name of [
      'ARCD_PORT',
      'ARCD_HOST',
      'ARCD_DB',
      'ARCD_AGENTS_DIR',
      'ARCD_MAX_BODY_BYTES',
    ]) {
      expect(help).toContain(name);
    }
    expect(help).toContain('default 8080');
  });
});
