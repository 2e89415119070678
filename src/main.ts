#!/usr/bin/env node
/**
 * The `arcd` command line: `arcd [serve] [options]` starts the server with every setting from
 * flags, then the environment, then defaults (see config.ts). SIGINT/SIGTERM shut it down
 * gracefully; a second signal, a second or more after the first, exits at once.
 */
import { Command, CommanderError, Option } from 'commander';
import { type Config, DEFAULTS, SETTINGS, loadConfig } from './config';
import { createServer } from './server';
import { addApiKey } from './auth/apiKeys';
import { ADMIN_SCOPE, ARC_SCOPES } from './auth/principal';
import { EXIT, addTaskCommands } from './cli/taskCommands';

/** A second signal this soon after the first is the same one, delivered twice. */
const REPEAT_MS = 1_000;

async function serve(flags: Partial<Record<keyof Config, string>>): Promise<void> {
  const config = loadConfig(process.env, flags);
  const server = createServer(config);
  process.on('unhandledRejection', (reason) => {
    server.logger.error({ err: reason }, 'unhandled rejection (kept running)');
  });
  await server.listen();
  let firstSignalAt: number | undefined;
  const stop = (signal: string) => {
    if (firstSignalAt !== undefined) {
      // One Ctrl-C comes twice under `npm start` (from the terminal to the process group, and
      // forwarded by npm): a repeat within REPEAT_MS is that one; a later one means "now".
      if (performance.now() - firstSignalAt < REPEAT_MS) return;
      process.exit(1);
    }
    firstSignalAt = performance.now();
    server.logger.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        // Not left running half closed: what could be written has been, the rest is logged.
        server.logger.error({ err: error }, 'shutting down failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function addSettings(command: Command): Command {
  for (const setting of SETTINGS) {
    const flag = `${setting.flag} <${setting.kind === 'int' ? 'n' : 'value'}>`;
    command.addOption(
      new Option(
        flag,
        `${setting.describe} [env ${setting.env}, default ${JSON.stringify(DEFAULTS[setting.key])}]`,
      ),
    );
  }
  return command;
}

const KNOWN_SCOPES = [...ARC_SCOPES, ADMIN_SCOPE];
const DEFAULT_SCOPES = ['arc.task.controller', 'arc.agent.caller', 'arc.chat.controller'];

const program = new Command('arcd').description('ARC 1.0 agent-to-agent task endpoint');
// Before the commands are added: they inherit it (see the end of this file).
program.exitOverride();
addSettings(program.command('serve', { isDefault: true }).description('start the server')).action(
  (flags: Partial<Record<keyof Config, string>>) =>
    serve(flags).catch((error: unknown) => {
      console.error(`arcd: ${(error as Error).message}`);
      process.exit(1);
    }),
);
const token = program.command('token').description('manage API keys');
token
  .command('create')
  .description('create an API key: prints the token once and stores only its SHA-256')
  .requiredOption('--identity <agentId>', 'the agent id the token authenticates as')
  .option(
    '--scopes <scopes>',
    `scopes, separated by spaces or commas, the option repeatable (of: ${KNOWN_SCOPES.join(' ')}) [default: ${DEFAULT_SCOPES.join(' ')}]`,
    (value: string, earlier: string[] | undefined) => [
      ...(earlier ?? []),
      ...value.split(/[\s,]+/).filter(Boolean),
    ],
  )
  .addOption(
    new Option('--api-keys-file <file>', 'where keys are kept')
      .env('ARCD_API_KEYS_FILE')
      .default(DEFAULTS.apiKeysFile),
  )
  .action((options: { identity: string; scopes?: string[]; apiKeysFile: string }) => {
    // Only the key file's setting: the server's others (a bad port, say) are not this one's.
    const file = options.apiKeysFile;
    if (options.identity.trim() === '') {
      // No call could use it: a requestAgent is never empty.
      console.error('arcd: --identity must name an agent id');
      process.exit(EXIT.usage);
    }
    const scopes = [...new Set(options.scopes ?? DEFAULT_SCOPES)];
    // A scope arcd does not know matches nothing: the token would be refused on every call.
    const unknown = scopes.filter((scope) => !KNOWN_SCOPES.includes(scope));
    if (unknown.length > 0 || scopes.length === 0) {
      const what = unknown.length > 0 ? `unknown scopes: ${unknown.join(' ')}` : 'no scopes';
      console.error(`arcd: ${what} (known: ${KNOWN_SCOPES.join(' ')})`);
      process.exit(EXIT.usage);
    }
    let created: string;
    try {
      created = addApiKey(file, options.identity, scopes);
    } catch (error) {
      console.error(`arcd: ${file}: ${(error as Error).message}`);
      process.exit(1);
    }
    process.stderr.write(
      `API key for ${options.identity} (${scopes.join(' ')}) stored in ${file}.\n` +
        'This is the only time the token is shown:\n',
    );
    process.stdout.write(`${created}\n`);
  });

addTaskCommands(program);

// An empty ARCD_* variable is unset, as loadConfig takes it (a blank line in an .env file):
// commander would otherwise pass '' on as the value (an empty requestAgent, a key file '').
for (const [name, value] of Object.entries(process.env)) {
  if (name.startsWith('ARCD_') && value === '') delete process.env[name];
}

/*
 * A command line that does not parse (an unknown option, a missing argument) exits 64, not
 * commander's 1, which a script would read as a failed task; under --json it also prints the
 * error as the task commands print theirs. Commander has told what is wrong on stderr.
 */
try {
  program.parse();
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  if (error.exitCode === 0) process.exit(0); // --help, --version
  if (process.argv.includes('--json')) {
    const usage = { code: 'usage', message: error.message, details: { reason: error.code } };
    process.stdout.write(`${JSON.stringify({ error: usage })}\n`);
  }
  process.exit(EXIT.usage);
}
