-- arcd's first schema: tasks with their messages, artifacts and event log; webhook
-- subscriptions with their outbox; notifications received from agents.
-- Timestamps are ISO-8601 UTC text with milliseconds (sortable); leases are epoch ms.

CREATE TABLE tasks (
  task_id        TEXT PRIMARY KEY,
  status         TEXT NOT NULL CHECK (status IN ('SUBMITTED','WORKING','INPUT_REQUIRED','COMPLETED','FAILED','CANCELED')),
  priority       TEXT NOT NULL CHECK (priority IN ('LOW','NORMAL','HIGH','URGENT')),
  priority_rank  INTEGER NOT NULL,
  assigned_agent TEXT NOT NULL,
  request_agent  TEXT NOT NULL,
  metadata       TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
  reason         TEXT,
  error          TEXT CHECK (error IS NULL OR json_valid(error)),
  trace_id       TEXT,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  started_at     TEXT,
  paused_at      TEXT,
  completed_at   TEXT,
  canceled_at    TEXT,
  failed_at      TEXT,
  message_count  INTEGER NOT NULL DEFAULT 0,
  artifact_count INTEGER NOT NULL DEFAULT 0,
  last_seq       INTEGER NOT NULL DEFAULT 0,
  pending_turn   INTEGER NOT NULL DEFAULT 0 CHECK (pending_turn IN (0, 1)),
  lease_owner    TEXT,
  lease_until    INTEGER
) STRICT;

-- The runner's claim: tasks owing a turn, most urgent first, then oldest.
CREATE INDEX tasks_runnable ON tasks (priority_rank DESC, created_at, task_id) WHERE pending_turn = 1;
CREATE INDEX tasks_by_request_agent ON tasks (request_agent, created_at);

CREATE TABLE messages (
  message_id TEXT PRIMARY KEY,
  task_id    TEXT NOT NULL REFERENCES tasks (task_id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  role       TEXT NOT NULL CHECK (role IN ('user','agent','system')),
  parts      TEXT NOT NULL CHECK (json_valid(parts)),
  agent_id   TEXT,
  timestamp  TEXT NOT NULL,
  UNIQUE (task_id, seq)
) STRICT;

CREATE TABLE artifacts (
  artifact_id TEXT PRIMARY KEY,
  task_id     TEXT NOT NULL REFERENCES tasks (task_id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,
  name        TEXT NOT NULL,
  description TEXT,
  parts       TEXT NOT NULL CHECK (json_valid(parts)),
  created_by  TEXT,
  version     TEXT,
  metadata    TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
  created_at  TEXT NOT NULL,
  UNIQUE (task_id, seq)
) STRICT;

CREATE TABLE events (
  task_id    TEXT NOT NULL REFERENCES tasks (task_id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  event_id   TEXT NOT NULL UNIQUE,
  type       TEXT NOT NULL,
  data       TEXT NOT NULL CHECK (json_valid(data)),
  created_at TEXT NOT NULL,
  PRIMARY KEY (task_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE subscriptions (
  subscription_id TEXT PRIMARY KEY,
  task_id         TEXT NOT NULL REFERENCES tasks (task_id) ON DELETE CASCADE,
  owner_agent     TEXT NOT NULL,
  callback_url    TEXT NOT NULL,
  events          TEXT NOT NULL CHECK (json_valid(events)),
  secret          TEXT NOT NULL,
  active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  created_at      TEXT NOT NULL
) STRICT;
CREATE INDEX subscriptions_by_task ON subscriptions (task_id) WHERE active = 1;

-- The outbox: one row per (event, matching subscription), written in the event's transaction.
CREATE TABLE deliveries (
  delivery_id     TEXT PRIMARY KEY,
  subscription_id TEXT NOT NULL REFERENCES subscriptions (subscription_id) ON DELETE CASCADE,
  task_id         TEXT NOT NULL,
  event_seq       INTEGER NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','delivered','dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  UNIQUE (subscription_id, event_seq),
  FOREIGN KEY (task_id, event_seq) REFERENCES events (task_id, seq) ON DELETE CASCADE
) STRICT;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE notifications (
  notification_id TEXT PRIMARY KEY,
  task_id         TEXT NOT NULL REFERENCES tasks (task_id) ON DELETE CASCADE,
  from_agent      TEXT NOT NULL,
  event           TEXT NOT NULL,
  timestamp       TEXT NOT NULL,
  data            TEXT NOT NULL CHECK (json_valid(data)),
  received_at     TEXT NOT NULL
) STRICT;
CREATE INDEX notifications_by_task ON notifications (task_id, received_at);
