-- Large part contents (files, images, audio) stored once, outside the hot rows of messages,
-- artifacts and events, which keep a {"$arcdBlob": "<sha256>"} reference in their place.
-- Content-addressed: the same file in a message, its NEW_MESSAGE event and an artifact made
-- from it is one row. blob_refs says which tasks use a blob; unused blobs are deleted with
-- the last task that used them.

CREATE TABLE blobs (
  blob_id    TEXT PRIMARY KEY,          -- sha256 of content, hex
  content    TEXT NOT NULL,             -- the part's content exactly as sent (base64 or text)
  size       INTEGER NOT NULL,          -- length of content in characters
  created_at TEXT NOT NULL
) STRICT;

CREATE TABLE blob_refs (
  task_id TEXT NOT NULL REFERENCES tasks (task_id) ON DELETE CASCADE,
  blob_id TEXT NOT NULL REFERENCES blobs (blob_id),
  PRIMARY KEY (task_id, blob_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX blob_refs_by_blob ON blob_refs (blob_id);
