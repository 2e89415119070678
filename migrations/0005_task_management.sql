-- Task management (#7): dependencies between tasks, schedules that create tasks from cron
-- expressions, triggers that create tasks from inbound HTTP calls, and the index the
-- retention purge walks.

-- A task with dependencies waits (blocked = 1, no owed turn) until all are COMPLETED.
ALTER TABLE tasks ADD COLUMN dependencies TEXT CHECK (dependencies IS NULL OR json_valid(dependencies));
ALTER TABLE tasks ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1));
CREATE INDEX tasks_blocked ON tasks (task_id) WHERE blocked = 1;

-- The same edges, queryable from the dependency's side (who waits on a finished task).
CREATE TABLE task_dependencies (
  task_id    TEXT NOT NULL REFERENCES tasks (task_id) ON DELETE CASCADE,
  depends_on TEXT NOT NULL REFERENCES tasks (task_id) ON DELETE CASCADE,
  PRIMARY KEY (task_id, depends_on)
) STRICT, WITHOUT ROWID;
CREATE INDEX task_dependencies_by_dependency ON task_dependencies (depends_on);

-- Everyone's tasks, newest first: an admin's task.list.
CREATE INDEX tasks_by_created ON tasks (created_at, task_id);

-- Finished tasks, oldest first: what the retention purge deletes.
CREATE INDEX tasks_finished ON tasks (updated_at)
  WHERE status IN ('COMPLETED', 'FAILED', 'CANCELED');

CREATE TABLE schedules (
  schedule_id   TEXT PRIMARY KEY,
  owner_agent   TEXT NOT NULL,          -- the requestAgent of the tasks it creates
  target_agent  TEXT NOT NULL,
  cron          TEXT NOT NULL,
  timezone      TEXT NOT NULL,
  message       TEXT NOT NULL CHECK (json_valid(message)),
  priority      TEXT NOT NULL CHECK (priority IN ('LOW','NORMAL','HIGH','URGENT')),
  settings      TEXT CHECK (settings IS NULL OR json_valid(settings)),
  metadata      TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
  status        TEXT NOT NULL CHECK (status IN ('active', 'paused')),
  next_run_at   TEXT,                   -- the next slot (UTC ISO); NULL when the cron has none left
  last_run_at   TEXT,
  last_task_id  TEXT,
  run_count     INTEGER NOT NULL DEFAULT 0,
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
) STRICT;
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE status = 'active';
CREATE INDEX schedules_by_owner ON schedules (owner_agent, created_at);

CREATE TABLE triggers (
  trigger_id    TEXT PRIMARY KEY,
  token_hash    TEXT NOT NULL UNIQUE,   -- sha256 of the secret URL's token; the token is not kept
  owner_agent   TEXT NOT NULL,
  target_agent  TEXT NOT NULL,
  input         TEXT CHECK (input IS NULL OR json_valid(input)),
  text          TEXT,
  priority      TEXT NOT NULL CHECK (priority IN ('LOW','NORMAL','HIGH','URGENT')),
  settings      TEXT CHECK (settings IS NULL OR json_valid(settings)),
  metadata      TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
  signing_secret TEXT,                  -- Standard Webhooks secret when requests must be signed
  fire_count    INTEGER NOT NULL DEFAULT 0,
  last_fired_at TEXT,
  created_at    TEXT NOT NULL
) STRICT;
CREATE INDEX triggers_by_owner ON triggers (owner_agent, created_at);

-- One task per (trigger, request key): a sender's redelivery returns the task it made.
CREATE TABLE trigger_fires (
  trigger_id TEXT NOT NULL REFERENCES triggers (trigger_id) ON DELETE CASCADE,
  fire_key   TEXT NOT NULL,
  task_id    TEXT NOT NULL,
  fired_at   TEXT NOT NULL,
  PRIMARY KEY (trigger_id, fire_key)
) STRICT, WITHOUT ROWID;
