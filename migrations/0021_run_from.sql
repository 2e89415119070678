-- Where a task's current run's conversation begins in its messages (an index, from 0): 0, or
-- the message `task.run` gave it. Earlier runs' messages stay in the history before it; a
-- turn tells its handler (ctx.runStart), so that one relaying the conversation elsewhere (a
-- remote agent) starts from the run's own message.

ALTER TABLE tasks ADD COLUMN run_from INTEGER NOT NULL DEFAULT 0 CHECK (run_from >= 0);
