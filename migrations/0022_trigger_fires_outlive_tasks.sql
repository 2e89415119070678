-- A trigger's remembered firing (its webhook-id or Idempotency-Key → the task it made) outlives
-- that task for a while: a sender retries a request whose answer it lost for hours or days, and
-- a retry after the task was deleted (task.delete, the retention purge) must still be a
-- duplicate, not a second task. A task's deletion now marks its keys gone instead of deleting
-- them; the retention sweep deletes gone keys three days after their firing (an index of the
-- gone ones alone: it never reads the keys of tasks still kept).

DROP TRIGGER trigger_fires_follow_tasks;
ALTER TABLE trigger_fires ADD COLUMN task_gone INTEGER NOT NULL DEFAULT 0
  CHECK (task_gone IN (0, 1));
CREATE INDEX trigger_fires_gone ON trigger_fires (fired_at) WHERE task_gone = 1;
CREATE TRIGGER trigger_fires_outlive_tasks AFTER DELETE ON tasks
BEGIN
  UPDATE trigger_fires SET task_gone = 1 WHERE task_id = OLD.task_id;
END;
