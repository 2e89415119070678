/**
 * Runs the compiled arcd (dist/, built once by test/globalSetup.js) as a child process, the
 * way `npm start` does, and finds its URL in its log. Every child is SIGKILLed after its test
 * if still alive (a leak guard).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../src/paths';

export const compiledMain = path.join(projectRoot, 'dist', 'src', 'main.js');

export interface Child {
  process: ChildProcess;
  url: string;
  logs: string[];
  exited: Promise<number | null>;
}

const children = new Set<ChildProcess>();

afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
});

export function startChild(args: string[], env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, [compiledMain, ...args], {
    env: { ...process.env, ARCD_LOG_LEVEL: 'info', ARCD_AUTH: 'off', ...env },
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

/** Kills the child without warning (SIGKILL) and waits until it is gone. */
export async function killHard(child: Child): Promise<void> {
  child.process.kill('SIGKILL');
  await child.exited;
}
