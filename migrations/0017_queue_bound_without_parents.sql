-- The queue bound (an agent's limits.maxQueued) counts the tasks its agent will run: a
-- multi-agent parent, SUBMITTED for its targetAgent until a child starts, runs nothing itself
-- and no longer takes a place in that agent's queue.

DROP INDEX tasks_queued;
CREATE INDEX tasks_queued ON tasks (assigned_agent)
  WHERE status = 'SUBMITTED' AND child_task_ids IS NULL;
