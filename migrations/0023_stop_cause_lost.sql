-- A task failed because the processes running its turn kept stopping (--lost-turn-limit) ends
-- without its handler running again: its agent's `stopped` hook is owed for it too (cause
-- `lost`), so that an agent holding work elsewhere for it (a remote agent's remote task) lets
-- go of it. SQLite cannot change a CHECK in place: the table is built again, its rows kept.
CREATE TABLE stops_owed_next (
  task_id     TEXT PRIMARY KEY REFERENCES tasks (task_id) ON DELETE CASCADE,
  agent       TEXT NOT NULL,
  cause       TEXT NOT NULL CHECK (cause IN ('canceled', 'deadline', 'lost')),
  lease_owner TEXT,
  lease_until INTEGER
) STRICT, WITHOUT ROWID;
INSERT INTO stops_owed_next (task_id, agent, cause, lease_owner, lease_until)
  SELECT task_id, agent, cause, lease_owner, lease_until FROM stops_owed;
DROP TABLE stops_owed;
ALTER TABLE stops_owed_next RENAME TO stops_owed;
CREATE INDEX stops_owed_by_agent ON stops_owed (agent, lease_until);
