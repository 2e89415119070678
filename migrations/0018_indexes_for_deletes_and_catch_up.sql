-- A task's delete (task.delete, the retention purge) cascades into its subscriptions by
-- task_id: the partial index on active subscriptions could not serve that lookup, and every
-- delete read the whole table. One index on (task_id, active) serves both.
DROP INDEX subscriptions_by_task;
CREATE INDEX subscriptions_by_task ON subscriptions (task_id, active);

-- Unused since claims read deliveries_due_heads (0011), yet written on every delivery change.
DROP INDEX deliveries_due;

-- The multi-agent catch-up (every minute) looks for live parents and the parents of live
-- children: it read every task. Both indexes hold multi-agent families' live rows only.
CREATE INDEX tasks_live_parents ON tasks (task_id)
  WHERE child_task_ids IS NOT NULL AND status IN ('SUBMITTED', 'WORKING', 'INPUT_REQUIRED');
CREATE INDEX tasks_live_children ON tasks (parent_task_id)
  WHERE parent_task_id IS NOT NULL AND status IN ('SUBMITTED', 'WORKING', 'INPUT_REQUIRED');
