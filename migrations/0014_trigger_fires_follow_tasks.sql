-- A trigger's remembered firing (its webhook-id or Idempotency-Key → the task it made) lives as
-- long as that task: removed with it (task.delete, the retention purge), it no longer names a
-- task that is gone, and the table no longer grows for ever.

DELETE FROM trigger_fires WHERE task_id NOT IN (SELECT task_id FROM tasks);
CREATE INDEX trigger_fires_by_task ON trigger_fires (task_id);
CREATE TRIGGER trigger_fires_follow_tasks AFTER DELETE ON tasks
BEGIN
  DELETE FROM trigger_fires WHERE task_id = OLD.task_id;
END;
