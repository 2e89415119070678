-- ARC chats: a conversation with one hosted agent, and its messages in order.

CREATE TABLE chats (
  chat_id        TEXT PRIMARY KEY,
  assigned_agent TEXT NOT NULL,
  request_agent  TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('ACTIVE','PAUSED','CLOSED')),
  metadata       TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
  reason         TEXT,
  message_count  INTEGER NOT NULL DEFAULT 0,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  closed_at      TEXT
) STRICT;
CREATE INDEX chats_by_request_agent ON chats (request_agent, created_at);

CREATE TABLE chat_messages (
  chat_id   TEXT NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE,
  seq       INTEGER NOT NULL,
  role      TEXT NOT NULL CHECK (role IN ('user','agent','system')),
  parts     TEXT NOT NULL CHECK (json_valid(parts)),
  agent_id  TEXT,
  timestamp TEXT NOT NULL,
  PRIMARY KEY (chat_id, seq)
) STRICT, WITHOUT ROWID;

-- task.list: one caller's tasks newest first, with task_id as the tie-break of its cursor.
CREATE INDEX tasks_list ON tasks (request_agent, created_at DESC, task_id DESC);
