/**
 * floor-sqlite: floor-node plus one better-sqlite3 transaction per request that inserts a task
 * row and its first message row, with the pragmas arcd uses (src/store/openDatabase.ts: WAL,
 * synchronous=NORMAL, foreign_keys=ON, busy_timeout=5000). The durable-write floor: the answer
 * is sent only after the commit, as arcd does for task.create.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { portArg, readJson, ready, send, taskEnvelope } from './shared';

const port = portArg();
const file = process.argv[3];
if (!file) throw new Error('usage: floorSqlite <port> <db file>');

const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');
db.pragma('busy_timeout = 5000');
db.exec(`
  CREATE TABLE IF NOT EXISTS tasks (
    task_id        TEXT PRIMARY KEY,
    status         TEXT NOT NULL,
    priority       TEXT NOT NULL,
    assigned_agent TEXT NOT NULL,
    request_agent  TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
  ) STRICT;
  CREATE TABLE IF NOT EXISTS messages (
    message_id TEXT PRIMARY KEY,
    task_id    TEXT NOT NULL REFERENCES tasks (task_id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    role       TEXT NOT NULL,
    parts      TEXT NOT NULL CHECK (json_valid(parts)),
    timestamp  TEXT NOT NULL,
    UNIQUE (task_id, seq)
  ) STRICT;
`);
const insertTask = db.prepare(
  `INSERT INTO tasks (task_id, status, priority, assigned_agent, request_agent, created_at, updated_at)
   VALUES (?, 'SUBMITTED', ?, ?, ?, ?, ?)`,
);
const insertMessage = db.prepare(
  `INSERT INTO messages (message_id, task_id, seq, role, parts, timestamp) VALUES (?, ?, 1, ?, ?, ?)`,
);
const create = db.transaction(
  (
    taskId: string,
    priority: string,
    target: string,
    caller: string,
    role: string,
    parts: string,
    now: string,
  ) => {
    insertTask.run(taskId, priority, target, caller, now, now);
    insertMessage.run(`msg-${randomUUID()}`, taskId, role, parts, now);
  },
);

const server = http.createServer((req, res) => {
  readJson(req).then(
    (request) => {
      const message = request.params?.initialMessage;
      if (!message) return send(res, 400, { error: 'no initialMessage' });
      const taskId = `task-${randomUUID()}`;
      const now = new Date().toISOString();
      const priority = request.params.priority ?? 'NORMAL';
      create(
        taskId,
        priority,
        request.targetAgent,
        request.requestAgent,
        message.role,
        JSON.stringify(message.parts),
        now,
      );
      send(res, 200, taskEnvelope(request, taskId, now));
    },
    () => send(res, 400, { error: 'bad json' }),
  );
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => ready(port));
process.on('SIGTERM', () =>
  server.close(() => {
    db.close();
    process.exit(0);
  }),
);
