/**
 * Server processes for the bench: each target runs as its own child (plain `node`, so the pid
 * is the server's), and its CPU time and memory are read from /proc/<pid>.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
/** Compiled bench targets (`tsc -p bench/tsconfig.json` writes them next to arcd's dist/src). */
export const TARGETS_DIR = path.join(ROOT, 'dist', 'bench', 'targets');
export const ARCD_MAIN = path.join(ROOT, 'dist', 'src', 'main.js');

const requireHere = createRequire(__filename);

/**
 * A module of arcd's compiled dist/src (`npm run build` first), as the server runs it: the
 * bench compiles apart from src/ and cannot import it. `T` says what the caller uses of it.
 */
export function compiled<T>(...modulePath: string[]): T {
  return requireHere(path.join(ROOT, 'dist', 'src', ...modulePath)) as T;
}

/** The node flags `npm start` gives arcd (package.json's start script): the bench uses the same. */
export function arcdStartFlags(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const flags = /\bnode((?: --\S+)*) dist\/src\/main\.js\b/.exec(pkg.scripts.start);
  if (!flags) throw new Error(`package.json's start script does not run dist/src/main.js`);
  return (flags[1] ?? '').split(' ').filter(Boolean);
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * The name and user + system CPU time (µs) in a `/proc/.../stat` file: a process's (all its
 * threads) or one thread's (`/proc/<pid>/task/<tid>/stat`).
 */
export function statCpu(file: string): { name: string; micros: number } {
  const stat = fs.readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return {
    name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    micros: (ticks / CLK_TCK) * 1e6,
  };
}

/** User + system CPU time of the whole process (all its threads), in microseconds. */
export function cpuMicros(pid: number): number {
  return statCpu(`/proc/${pid}/stat`).micros;
}

/** Bytes the process caused to be written to storage (/proc/<pid>/io write_bytes). */
export function diskWriteBytes(pid: number): number {
  const io = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
  return Number(/write_bytes:\s+(\d+)/.exec(io)?.[1] ?? NaN);
}

/** A /proc/<pid>/status memory figure (VmHWM = peak RSS, VmRSS = now) in MiB. */
export function memMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  name: string;
  pid: number;
  port: number;
  url: string;
  child: ChildProcess;
  /** Milliseconds from spawn until it answered (startup work a profile should leave out). */
  readyMs: number;
  stop(): Promise<void>;
}

function probe(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      res.on('end', () => resolve(true));
    });
    req.on('error', () => resolve(false));
    req.setTimeout(1000, () => req.destroy());
  });
}

/**
 * Starts `node <args>` and waits until GET readyPath answers (any status). The child's stderr
 * is kept (its tail is shown if it dies early); stdout is discarded.
 */
export async function startServer(options: {
  name: string;
  port: number;
  args: string[];
  readyPath: string;
  env?: NodeJS.ProcessEnv;
  nodeFlags?: string[];
}): Promise<ServerProcess> {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), ...options.args], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + 30_000;
  while (!(await probe(url + options.readyPath))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} did not start: ${stderr || '(no stderr)'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    name: options.name,
    pid: child.pid as number,
    port: options.port,
    url,
    child,
    readyMs: performance.now() - spawnedAt,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/**
 * The compiled arcd, as `npm start` would run it, minus logging and the per-IP rate limit.
 * `main`: another build's dist/src/main.js (bench/ab.ts), else this tree's.
 */
export function startArcd(options: {
  port: number;
  db: string;
  main?: string;
  extra?: string[];
  env?: NodeJS.ProcessEnv;
  nodeFlags?: string[];
}): Promise<ServerProcess> {
  return startServer({
    name: 'arcd',
    port: options.port,
    args: [
      options.main ?? ARCD_MAIN,
      'serve',
      '--auth',
      'off',
      '--port',
      String(options.port),
      '--db',
      options.db,
      '--log-level',
      'silent',
      '--rate-limit-per-minute',
      '0',
      ...(options.extra ?? []),
      // Extra flags for every arcd started by the bench (experiments: BENCH_ARCD_ARGS="--concurrency 64").
      ...(process.env.BENCH_ARCD_ARGS?.split(' ').filter(Boolean) ?? []),
    ],
    readyPath: '/health',
    ...(options.env ? { env: options.env } : {}),
    nodeFlags: [
      ...arcdStartFlags(),
      ...(options.nodeFlags ?? []),
      // Extra node flags for every arcd (experiments: BENCH_ARCD_NODE_FLAGS="--max-semi-space-size=32").
      ...(process.env.BENCH_ARCD_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
    ],
  });
}
