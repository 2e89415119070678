/**
 * The README's quick start, for real: the compiled `arcd` (what `npm start` runs) started as a
 * child process with its settings from the environment and flags, used over HTTP, then stopped
 * with SIGTERM; a task it was working on is finished by the next start on the same file.
 */
import { execFileSync, spawn } from 'node:child_process';
import { compiledMain, startChild } from '../helpers/childArcd';
import { createTask, waitFor, waitForStatus } from '../helpers/arcServer';
import { tempDbFile } from '../helpers/tempDb';

const main = compiledMain;

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

  test("one Ctrl-C delivered twice (the terminal's, and npm's forward) still shuts down gracefully", async () => {
    const child = await startChild(['serve', '--port', '0'], {
      ARCD_DB: tempDbFile('cli-sigint'),
      ARCD_LOG_LEVEL: 'info',
    });
    child.process.kill('SIGINT');
    // The repeat comes once the first is being handled (two at once would be one signal).
    await waitFor('the first heard', async () =>
      child.logs.some((line) => line.includes('shutting down')) ? true : undefined,
    );
    child.process.kill('SIGINT');
    expect(await child.exited).toBe(0);
    expect(child.logs.some((line) => line.includes('arcd stopped'))).toBe(true);
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
