-- The engine's state in the database: task settings and deadline, the current turn's attempt
-- and retry schedule, progress, usage; every attempt as a run; checkpoints.

ALTER TABLE tasks ADD COLUMN settings TEXT CHECK (settings IS NULL OR json_valid(settings));
ALTER TABLE tasks ADD COLUMN deadline TEXT;
ALTER TABLE tasks ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN next_attempt_at INTEGER;           -- epoch ms; NULL: now
ALTER TABLE tasks ADD COLUMN last_error TEXT CHECK (last_error IS NULL OR json_valid(last_error));
ALTER TABLE tasks ADD COLUMN internal_status TEXT CHECK (length(internal_status) <= 255);
ALTER TABLE tasks ADD COLUMN progress REAL CHECK (progress IS NULL OR (progress >= 0 AND progress <= 1));
ALTER TABLE tasks ADD COLUMN tokens_used INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN cost REAL NOT NULL DEFAULT 0;

-- Live tasks with a deadline, soonest first (the deadline sweep).
CREATE INDEX tasks_by_deadline ON tasks (deadline)
  WHERE deadline IS NOT NULL AND status IN ('SUBMITTED','WORKING','INPUT_REQUIRED');
-- Queued tasks per agent (the optional queue bound) and leased ones (per-agent limits).
CREATE INDEX tasks_by_agent_status ON tasks (assigned_agent, status);
CREATE INDEX tasks_leased ON tasks (assigned_agent, lease_until) WHERE lease_owner IS NOT NULL;

CREATE TABLE runs (
  run_id       TEXT PRIMARY KEY,
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
) STRICT;
CREATE INDEX runs_by_task ON runs (task_id, started_at);

CREATE TABLE checkpoints (
  task_id    TEXT NOT NULL REFERENCES tasks (task_id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  run_id     TEXT NOT NULL,
  data       TEXT NOT NULL CHECK (json_valid(data)),
  created_at TEXT NOT NULL,
  PRIMARY KEY (task_id, seq)
) STRICT, WITHOUT ROWID;
