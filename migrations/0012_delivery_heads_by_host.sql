-- A claim takes, for each receiver host, no more of its due heads than the host has room for.
-- Reading the due heads in time order, a claim with room left for other hosts read on past
-- every head of a host already full: each delivery now carries its receiver's host, and the
-- due heads are indexed by host first, so a claim reads each host's first few heads only.

ALTER TABLE deliveries ADD COLUMN host TEXT NOT NULL DEFAULT '';
UPDATE deliveries SET host = (
  SELECT s.callback_host FROM subscriptions s WHERE s.subscription_id = deliveries.subscription_id);
DROP INDEX deliveries_due_heads;
CREATE INDEX deliveries_due_heads ON deliveries (host, next_attempt_at, event_seq)
  WHERE status = 'pending' AND head = 1;
