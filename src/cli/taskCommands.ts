/**
 * The `arcd task …` and `arcd agents` commands: a shell front for ArcClient. Human lines by
 * default (a live status line on a terminal), `--json` for machines. Exit codes: 0 success,
 * 1 a waited-for task ended FAILED or CANCELED, 2 an ARC error, 3 a connection failure,
 * 4 a waited-for task waits for input, 64 a command line that does not parse (main.ts), 70 a
 * fault of the CLI's own.
 */
import { type Command, Option } from 'commander';
import got, { RequestError } from 'got';
import { ArcClient, ArcClientError, ArcTransportError, type TaskEvent } from '../client';
import type { Priority, Task } from '../types';

interface Common {
  endpoint: string;
  token?: string;
  /** Unset: `cli`, or with a token its identity (see attempt). */
  requestAgent?: string;
  json?: boolean;
}

export const EXIT = {
  ok: 0,
  taskFailed: 1,
  arcError: 2,
  connection: 3,
  inputRequired: 4,
  usage: 64, // sysexits' EX_USAGE: commander's own 1 would read as a failed task
  internal: 70, // sysexits' EX_SOFTWARE
} as const;

function clientOf(options: Common): ArcClient {
  return new ArcClient({
    endpoint: options.endpoint,
    requestAgent: options.requestAgent ?? 'cli',
    ...(options.token ? { token: options.token } : {}),
  });
}

function print(options: Common, value: unknown, human: string): void {
  process.stdout.write(`${options.json ? JSON.stringify(value) : human}\n`);
}

function summary(task: Task): string {
  const last = task.messages?.at(-1);
  const text = last?.parts.find((p) => p.type === 'TextPart' || p.type === 'text')?.content;
  const extra = task.reason ? ` (${task.reason})` : '';
  return `${task.taskId} ${task.status}${extra}${text !== undefined ? `\n${String(text)}` : ''}`;
}

/**
 * Runs the action; with a token and no --request-agent, once more as the token's identity if
 * the server refused `cli` for not being it (-44002 names the identity): the first call
 * changed nothing.
 */
async function attempt(options: Common, action: () => Promise<number | void>) {
  try {
    return await action();
  } catch (error) {
    const identity =
      error instanceof ArcClientError && error.code === -44002
        ? error.details?.identity
        : undefined;
    if (options.requestAgent !== undefined || !options.token || typeof identity !== 'string') {
      throw error;
    }
    options.requestAgent = identity;
    return action();
  }
}

async function run(options: Common, action: () => Promise<number | void>): Promise<void> {
  try {
    process.exitCode = (await attempt(options, action)) ?? EXIT.ok;
  } catch (error) {
    if (error instanceof ArcClientError) {
      process.stderr.write(`arcd: ARC error ${error.code}: ${error.message}\n`);
      if (options.json)
        process.stdout.write(
          `${JSON.stringify({ error: { code: error.code, message: error.message, details: error.details } })}\n`,
        );
      process.exitCode = EXIT.arcError;
    } else if (error instanceof ArcTransportError || error instanceof RequestError) {
      const { message } = error;
      // Reached, but answered with no ARC answer (a proxy's error page, a web app): said so.
      const status = error instanceof ArcTransportError ? error.status : error.response?.statusCode;
      const code = status === undefined ? 'unreachable' : 'not-arc';
      const what = status === undefined ? 'cannot reach' : 'no ARC answer from';
      process.stderr.write(`arcd: ${what} ${options.endpoint}: ${message}\n`);
      if (options.json) {
        // As an ARC error is: a script reading stdout gets an answer, not nothing.
        const details = { endpoint: options.endpoint, ...(status ? { status } : {}) };
        process.stdout.write(`${JSON.stringify({ error: { code, message, details } })}\n`);
      }
      process.exitCode = EXIT.connection;
    } else {
      // A fault of the CLI's own, not the server's nor the network's.
      process.stderr.write(`arcd: internal error: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = EXIT.internal;
    }
  }
}

/**
 * Follows a task until it ends or waits for input, showing each status change; returns the
 * task then. The task is looked up first: a caller who may not see it, or is not who its
 * token says (attempt then runs the action again, as the token's identity), learns it before
 * any event is shown. The stream replays the task's whole log, earlier pauses included: a
 * pause ends the follow only if the task (or the child of a multi-agent parent that paused)
 * still waits (an answer sent since resumed it).
 */
async function follow(
  client: ArcClient,
  agent: string,
  taskId: string,
  options: Common,
): Promise<Task> {
  await client.task.info(agent, taskId);
  const tty = process.stderr.isTTY && !options.json;
  const spinner = ['|', '/', '-', '\\'];
  let tick = 0;
  let status = 'SUBMITTED';
  const timer = tty
    ? setInterval(
        () => process.stderr.write(`\r${spinner[tick++ % 4]} ${taskId} ${status}   `),
        100,
      )
    : undefined;
  try {
    for await (const event of client.task.watch(taskId)) {
      status = event.data.status;
      if (!tty && !options.json) process.stderr.write(`${event.event} ${event.data.status}\n`);
      if (options.json) process.stdout.write(`${JSON.stringify(event satisfies TaskEvent)}\n`);
      if (status === 'INPUT_REQUIRED') {
        // The task's own pause, or (a multi-agent parent, WORKING meanwhile) a child's: the
        // one waiting is returned, its question last.
        const { childTaskId, childAgent } = event.data;
        const waiting =
          childTaskId === undefined
            ? await client.task.info(agent, taskId)
            : await client.task.info(String(childAgent), String(childTaskId));
        if (waiting.status === 'INPUT_REQUIRED') return waiting;
      }
    }
  } finally {
    if (timer) {
      clearInterval(timer);
      process.stderr.write('\r\x1b[K');
    }
  }
  return client.task.info(agent, taskId);
}

function outcome(task: Task): number {
  if (task.status === 'INPUT_REQUIRED') return EXIT.inputRequired;
  return task.status === 'COMPLETED' ? EXIT.ok : EXIT.taskFailed;
}

export function addTaskCommands(program: Command): void {
  const common = (command: Command) =>
    command
      // Read from the environment when parsed, not given as defaults: help prints a default's
      // value, and a token's has no place in a terminal's scrollback or a CI log.
      .addOption(
        new Option('--endpoint <url>', 'the arcd server')
          .env('ARCD_ENDPOINT')
          .default('http://127.0.0.1:8080'),
      )
      .addOption(new Option('--token <token>', 'Bearer token').env('ARCD_TOKEN'))
      .addOption(
        new Option(
          '--request-agent <id>',
          "who is calling (default cli, or the token's identity)",
        ).env('ARCD_REQUEST_AGENT'),
      )
      .option('--json', 'machine-readable output');

  const task = program.command('task').description('create, inspect and follow tasks');

  common(task.command('create <agent> <text>').description('create a task'))
    .option('--priority <priority>', 'LOW, NORMAL, HIGH or URGENT')
    .option('--wait', 'follow the task until it finishes or waits for input')
    .action(
      (agent: string, text: string, options: Common & { priority?: Priority; wait?: boolean }) =>
        run(options, async () => {
          const client = clientOf(options);
          const created = await client.task.create(
            agent,
            text,
            options.priority ? { priority: options.priority } : {},
          );
          if (!options.wait) return print(options, created, `${created.taskId} ${created.status}`);
          const done = await follow(client, agent, created.taskId, options);
          print(options, done, summary(done));
          return outcome(done);
        }),
    );

  common(task.command('info <agent> <taskId>').description('show a task')).action(
    (agent: string, taskId: string, options: Common) =>
      run(options, async () => {
        const found = await clientOf(options).task.info(agent, taskId);
        print(options, found, summary(found));
      }),
  );

  common(task.command('send <agent> <taskId> <text>').description('send a message to a task'))
    .option('--wait', 'follow the task until it finishes or waits for input')
    .action((agent: string, taskId: string, text: string, options: Common & { wait?: boolean }) =>
      run(options, async () => {
        const client = clientOf(options);
        const sent = await client.task.send(agent, taskId, text);
        if (!options.wait) return print(options, sent, 'sent');
        const done = await follow(client, agent, taskId, options);
        print(options, done, summary(done));
        return outcome(done);
      }),
    );

  common(task.command('cancel <agent> <taskId>').description('cancel a task'))
    .option('--reason <text>', 'why')
    .action((agent: string, taskId: string, options: Common & { reason?: string }) =>
      run(options, async () => {
        const canceled = await clientOf(options).task.cancel(agent, taskId, options.reason);
        print(options, canceled, summary(canceled));
      }),
    );

  common(
    task
      .command('watch <agent> <taskId>')
      .description('follow a task live until it finishes or waits for input'),
  ).action((agent: string, taskId: string, options: Common) =>
    run(options, async () => {
      const done = await follow(clientOf(options), agent, taskId, options);
      print(options, done, summary(done)); // as create --wait: the events, then the task
      return outcome(done);
    }),
  );

  common(program.command('agents').description('list the agents a server hosts')).action(
    (options: Common) =>
      run(options, async () => {
        const url = `${options.endpoint.replace(/\/$/, '')}/agent-info`;
        // Bounded as the client's calls are; one try (a refusal is told, not retried).
        const info = await got(url, { timeout: { request: 30_000 }, retry: { limit: 0 } }).json<{
          agents: Array<{ agentId: string; description: string }>;
        }>();
        print(
          options,
          info.agents,
          info.agents.map((a) => `${a.agentId}\t${a.description}`).join('\n'),
        );
      }),
  );
}
