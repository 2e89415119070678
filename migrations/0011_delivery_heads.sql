-- Each subscription's queue head (its oldest pending delivery, the only one a claim may take)
-- is marked, so that a claim reads the due heads in order off their own index, and stops once
-- it has enough, instead of finding every subscription's oldest pending delivery among all
-- pending rows after every attempt (a backlog's drain was quadratic in its size). Only a
-- pending row is ever marked.

ALTER TABLE deliveries ADD COLUMN head INTEGER NOT NULL DEFAULT 0 CHECK (head IN (0, 1));
UPDATE deliveries SET head = 1
  WHERE status = 'pending' AND event_seq = (
    SELECT MIN(p.event_seq) FROM deliveries p
    WHERE p.subscription_id = deliveries.subscription_id AND p.status = 'pending');
CREATE INDEX deliveries_due_heads ON deliveries (next_attempt_at, event_seq)
  WHERE status = 'pending' AND head = 1;
