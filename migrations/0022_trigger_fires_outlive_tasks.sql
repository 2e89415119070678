-- A trigger's remembered firing (its webhook-id or Idempotency-Key → the task it made) outlives
-- that task for a while: a sender retries a request whose answer it lost for hours or days, and
-- a retry after the task was deleted (task.delete, the retention purge) must still be a
-- duplicate, not a second task. The retention purge forgets the keys of tasks gone once they
-- are three days old (keys of tasks still kept stay with them), so the table does not grow for
-- ever.

DROP TRIGGER trigger_fires_follow_tasks;
CREATE INDEX trigger_fires_by_time ON trigger_fires (fired_at);
