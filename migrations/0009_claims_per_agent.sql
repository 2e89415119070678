-- Claims for agents with turn limits read each agent's most urgent owed turns straight off
-- this index, instead of ranking every pending row of every agent on each claim.
CREATE INDEX tasks_runnable_by_agent ON tasks (assigned_agent, priority_rank DESC, created_at, task_id)
  WHERE pending_turn = 1;
