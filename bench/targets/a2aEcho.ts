/**
 * The peer: an @a2a-js/sdk v1.0 server (express + its JSON-RPC transport + DefaultRequestHandler)
 * hosting an echo AgentExecutor, with either its InMemoryTaskStore or its DatabaseTaskStore on
 * SQLite (kysely + better-sqlite3, same pragmas as arcd). The table must exist: the bench runs
 * the SDK's `a2a-db upgrade --url sqlite:<file>` first.
 *
 * Echo does what arcd's echo does for a task: the task is SUBMITTED with the user's message,
 * goes WORKING, and COMPLETES with an agent message carrying the user's parts. Every event is
 * saved to the task store by the SDK's handler before the blocking SendMessage answers.
 *
 * usage: a2aEcho <port> memory | a2aEcho <port> sqlite <db file>
 */
import { randomUUID } from 'node:crypto';
import express from 'express';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { Role, TaskState, type AgentCard, type Message, type Task } from '@a2a-js/sdk';
import {
  AgentEvent,
  DefaultRequestHandler,
  InMemoryTaskStore,
  type AgentExecutor,
  type TaskStore,
} from '@a2a-js/sdk/server';
import { jsonRpcHandler, agentCardHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import { DatabaseTaskStore } from '@a2a-js/sdk/server/database';
import { portArg, ready } from './shared';

const port = portArg();
const storeKind = process.argv[3] ?? 'memory';

function taskStore(): TaskStore {
  if (storeKind === 'memory') return new InMemoryTaskStore();
  const file = process.argv[4];
  if (storeKind !== 'sqlite' || !file) throw new Error('usage: a2aEcho <port> memory|sqlite <db>');
  const database = new Database(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely({ dialect: new SqliteDialect({ database }) });
  // The SDK's typings see kysely's ESM declarations, this CommonJS file its CJS ones: same class.
  return new DatabaseTaskStore(db as unknown as ConstructorParameters<typeof DatabaseTaskStore>[0]);
}

const echo: AgentExecutor = {
  async execute(context, bus) {
    const { taskId, contextId } = context;
    const user = context.userMessage;
    const at = () => new Date().toISOString();
    const task: Task = context.task ?? {
      id: taskId,
      contextId,
      status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: at() },
      artifacts: [],
      history: [user],
      metadata: undefined,
    };
    bus.publish(AgentEvent.task(task));
    bus.publish(
      AgentEvent.statusUpdate({
        taskId,
        contextId,
        status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: at() },
        metadata: undefined,
      }),
    );
    const reply: Message = {
      messageId: randomUUID(),
      contextId,
      taskId,
      role: Role.ROLE_AGENT,
      parts: user.parts,
      metadata: undefined,
      extensions: [],
      referenceTaskIds: [],
    };
    bus.publish(
      AgentEvent.statusUpdate({
        taskId,
        contextId,
        status: { state: TaskState.TASK_STATE_COMPLETED, message: reply, timestamp: at() },
        metadata: undefined,
      }),
    );
    bus.finished();
  },
  async cancelTask() {
    // echo finishes at once; nothing to cancel
  },
};

const card: AgentCard = {
  name: 'echo',
  description: 'Replies with its input and completes.',
  supportedInterfaces: [
    {
      url: `http://127.0.0.1:${port}/`,
      protocolBinding: 'JSONRPC',
      tenant: '',
      protocolVersion: '1.0',
    },
  ],
  provider: undefined,
  version: '1.0.0',
  capabilities: { streaming: false, pushNotifications: false, extensions: [] },
  securitySchemes: {},
  securityRequirements: [],
  defaultInputModes: ['text'],
  defaultOutputModes: ['text'],
  skills: [],
  signatures: [],
};

const handler = new DefaultRequestHandler(card, taskStore(), echo);
const app = express();
app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: handler }));
app.use(
  '/',
  jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }),
);
const server = app.listen(port, '127.0.0.1', () => ready(port));
server.keepAliveTimeout = 60_000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
