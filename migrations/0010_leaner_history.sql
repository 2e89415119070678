-- arcd: foreign_keys off
-- Fewer B-trees written per message, event and run (each insert wrote every one of them, and
-- their pages went into every commit): messages are keyed by (task_id, seq) in one B-tree
-- (message_id was indexed but never looked up), events lose the unique index on event_id
-- (never looked up either), runs lose their rowid B-tree. The JSON columns that only arcd
-- writes (JSON.stringify output) are no longer re-parsed by a json_valid CHECK on insert.
-- deliveries reference events: hence foreign keys off while the table is rebuilt.

CREATE TABLE messages_new (
  task_id    TEXT NOT NULL REFERENCES tasks (task_id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  message_id TEXT NOT NULL,
  role       TEXT NOT NULL CHECK (role IN ('user','agent','system')),
  parts      TEXT NOT NULL,
  agent_id   TEXT,
  timestamp  TEXT NOT NULL,
  PRIMARY KEY (task_id, seq)
) STRICT, WITHOUT ROWID;
INSERT INTO messages_new (task_id, seq, message_id, role, parts, agent_id, timestamp)
  SELECT task_id, seq, message_id, role, parts, agent_id, timestamp FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;

CREATE TABLE events_new (
  task_id    TEXT NOT NULL REFERENCES tasks (task_id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  event_id   TEXT NOT NULL,
  type       TEXT NOT NULL,
  data       TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (task_id, seq)
) STRICT, WITHOUT ROWID;
INSERT INTO events_new (task_id, seq, event_id, type, data, created_at)
  SELECT task_id, seq, event_id, type, data, created_at FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;

CREATE TABLE runs_new (
  run_id       TEXT NOT NULL PRIMARY KEY,
  task_id      TEXT NOT NULL REFERENCES tasks (task_id) ON DELETE CASCADE,
  attempt      INTEGER NOT NULL,
  owner        TEXT NOT NULL,
  started_at   TEXT NOT NULL,
  completed_at TEXT,
  duration_ms  INTEGER,
  outcome      TEXT NOT NULL DEFAULT 'running'
               CHECK (outcome IN ('running','completed','input-required','failed','retrying',
                                  'timed-out','canceled','deadline-exceeded','interrupted')),
  error        TEXT CHECK (error IS NULL OR json_valid(error)),
  tokens_used  INTEGER NOT NULL DEFAULT 0,
  cost         REAL NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;
INSERT INTO runs_new SELECT run_id, task_id, attempt, owner, started_at, completed_at,
  duration_ms, outcome, error, tokens_used, cost FROM runs;
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
CREATE INDEX runs_by_task ON runs (task_id, started_at);
