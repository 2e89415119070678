-- An agent's `stopped` hook owed for a task canceled or failed by its deadline while no turn
-- of it held a lease: written in the same transaction as the task's end, taken under a lease
-- by a process hosting the agent, deleted once the hook has returned. A crash before the hook
-- ran, or a cancel stored by a process that does not host the agent, no longer loses it.
CREATE TABLE stops_owed (
  task_id     TEXT PRIMARY KEY REFERENCES tasks (task_id) ON DELETE CASCADE,
  agent       TEXT NOT NULL,
  cause       TEXT NOT NULL CHECK (cause IN ('canceled', 'deadline')),
  lease_owner TEXT,
  lease_until INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX stops_owed_by_agent ON stops_owed (agent, lease_until);
