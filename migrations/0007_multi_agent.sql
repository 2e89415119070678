-- Multi-agent tasks: a parent task fans out to one child task per assigned agent. The parent
-- never runs a handler itself; its status follows its children's.

ALTER TABLE tasks ADD COLUMN parent_task_id TEXT REFERENCES tasks (task_id);
ALTER TABLE tasks ADD COLUMN child_task_ids TEXT CHECK (child_task_ids IS NULL OR json_valid(child_task_ids));
CREATE INDEX tasks_by_parent ON tasks (parent_task_id) WHERE parent_task_id IS NOT NULL;
