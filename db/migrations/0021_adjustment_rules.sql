-- Adjustments: a form's request key, so a re-posted form (a double click,
-- F5 and "resubmit") finds the adjustment the first post made instead of
-- making a second one.
ALTER TABLE adjustments ADD COLUMN request_key text CHECK (request_key ~ '^[A-Za-z0-9_-]{16,64}$');
CREATE UNIQUE INDEX adjustments_request_key ON adjustments (requested_by, request_key);

-- What the split rule reads: one person's adjustments posted without a
-- second pair of eyes, by time.
CREATE INDEX adjustments_single_eyed ON adjustments (user_id, requested_at) WHERE decided_by IS NULL;
