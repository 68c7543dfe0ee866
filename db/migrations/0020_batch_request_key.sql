-- The batch form's request key: the form carries a random key made when it
-- is rendered, so a re-posted form (a reload's "resubmit", a double click)
-- finds the batch its first post made instead of making a second one with
-- new codes and money of its own. Unique per staff member, as recharge
-- orders' keys are per person. Batches made before this have none (NULL,
-- which UNIQUE lets repeat).
ALTER TABLE redeem_batches
    ADD COLUMN request_key text CHECK (length(request_key) BETWEEN 16 AND 64),
    ADD CONSTRAINT redeem_batches_request_key UNIQUE (created_by, request_key);
