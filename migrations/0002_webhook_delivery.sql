-- Webhook delivery: leases on outbox rows, a budget of attempts, a record of every attempt,
-- and subscription health (failing since, disabled and why).

-- SQLite cannot change a CHECK constraint in place: rebuild deliveries with the new states
-- ('canceled' when its subscription was deactivated) and the dispatcher's columns.
CREATE TABLE deliveries_new (
  delivery_id     TEXT PRIMARY KEY,
  subscription_id TEXT NOT NULL REFERENCES subscriptions (subscription_id) ON DELETE CASCADE,
  task_id         TEXT NOT NULL,
  event_seq       INTEGER NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending','delivered','dead','canceled')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  max_attempts    INTEGER,            -- NULL: the configured schedule's length
  next_attempt_at TEXT NOT NULL,
  lease_owner     TEXT,
  lease_until     INTEGER,            -- epoch ms
  last_status     INTEGER,            -- HTTP status of the last attempt, if any
  last_error      TEXT,
  delivered_at    TEXT,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  UNIQUE (subscription_id, event_seq),
  FOREIGN KEY (task_id, event_seq) REFERENCES events (task_id, seq) ON DELETE CASCADE
) STRICT;

INSERT INTO deliveries_new (delivery_id, subscription_id, task_id, event_seq, status, attempts,
  next_attempt_at, created_at, updated_at)
SELECT delivery_id, subscription_id, task_id, event_seq, status, attempts, next_attempt_at,
  created_at, created_at FROM deliveries;

DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;

CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_task ON deliveries (task_id, event_seq);
-- Each subscription's oldest pending delivery (the only one a claim may take).
CREATE INDEX deliveries_pending_heads ON deliveries (subscription_id, event_seq)
  WHERE status = 'pending';

CREATE TABLE delivery_attempts (
  delivery_id   TEXT NOT NULL REFERENCES deliveries (delivery_id) ON DELETE CASCADE,
  attempt       INTEGER NOT NULL,
  attempted_at  TEXT NOT NULL,
  status_code   INTEGER,
  latency_ms    INTEGER NOT NULL,
  error         TEXT,
  response_body TEXT,
  PRIMARY KEY (delivery_id, attempt)
) STRICT, WITHOUT ROWID;

-- The receiver's host:port, so a claim can skip receivers that are already saturated.
ALTER TABLE subscriptions ADD COLUMN callback_host TEXT NOT NULL DEFAULT '';
UPDATE subscriptions SET callback_host = lower(substr(callback_url, instr(callback_url, '://') + 3,
  CASE WHEN instr(substr(callback_url, instr(callback_url, '://') + 3), '/') > 0
       THEN instr(substr(callback_url, instr(callback_url, '://') + 3), '/') - 1
       ELSE length(callback_url) END));
ALTER TABLE subscriptions ADD COLUMN failing_since TEXT;
ALTER TABLE subscriptions ADD COLUMN deactivated_at TEXT;
ALTER TABLE subscriptions ADD COLUMN deactivated_reason TEXT;
CREATE INDEX subscriptions_by_owner ON subscriptions (owner_agent, created_at);
