-- Every claim now reads the owed turns of each agent its process hosts, off
-- tasks_runnable_by_agent, with or without turn limits: a claim without limits used to read
-- every agent's turns off tasks_runnable and fail the tasks of agents hosted by another
-- process on the same file. That index is read by nothing now, and each create and claim
-- paid for keeping it.

DROP INDEX tasks_runnable;
