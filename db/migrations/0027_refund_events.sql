-- Our refund calls to the providers (the refund request and the refund
-- query, each with its answer) are recorded in payment_events beside the
-- payment calls, so that an order's timeline in /ops shows them.
ALTER TABLE payment_events DROP CONSTRAINT payment_events_kind_check;
ALTER TABLE payment_events ADD CONSTRAINT payment_events_kind_check
    CHECK (kind IN ('notify', 'return', 'query', 'complete', 'close', 'start', 'refund', 'refund_query')) NOT VALID;
ALTER TABLE payment_events VALIDATE CONSTRAINT payment_events_kind_check;
