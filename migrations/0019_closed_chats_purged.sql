-- The retention purge deletes closed chats (with their messages, by cascade) once closed
-- longer than --retention-days, as it deletes finished tasks: they were kept for ever.
CREATE INDEX chats_closed ON chats (closed_at) WHERE status = 'CLOSED';
