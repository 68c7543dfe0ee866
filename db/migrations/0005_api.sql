-- Per-use charges that the IM2.0 backend asks for over the service API.
--
-- Charges are paid into one revenue system account. System accounts keep no
-- cached balance, so a burst of charges from many people never queues on it.
INSERT INTO accounts (kind, code) VALUES ('system', 'revenue:charges')
    ON CONFLICT (code) DO NOTHING;

-- What a charge decided: money moved, or the balance was too low.
CREATE TYPE charge_outcome AS ENUM ('charged', 'insufficient_funds');

-- One row per idempotency key, holding the request's hash and the first
-- answer, so that a repeated key gets exactly that answer again (a first
-- "insufficient funds" included) and a key reused for another request is
-- refused. A 'charged' row is written in the same transaction as its ledger
-- transaction: a crash cannot keep one without the other. Keys belong to the
-- backend as a whole, not to a person.
CREATE TABLE api_charges (
    id              bigserial PRIMARY KEY,
    idempotency_key text           NOT NULL UNIQUE
                    CHECK (idempotency_key ~ '^[\x21-\x7e]{1,128}$'),
    request_hash    bytea          NOT NULL CHECK (length(request_hash) = 32),
    user_id         bigint         NOT NULL REFERENCES users (id),
    amount          bigint         NOT NULL CHECK (amount > 0),
    reason          text           NOT NULL CHECK (reason ~ '^[a-z][a-z0-9_]{0,39}$'),
    outcome         charge_outcome NOT NULL,
    transaction_id  bigint         UNIQUE REFERENCES ledger_transactions (id),
    -- The wallet's balance after the charge, or the balance that was too low.
    balance         bigint         NOT NULL CHECK (balance >= 0),
    -- What was missing (0 when charged).
    shortfall       bigint         NOT NULL DEFAULT 0 CHECK (shortfall >= 0),
    created_at      timestamptz    NOT NULL DEFAULT now(),
    CONSTRAINT api_charges_outcome CHECK (
        (outcome = 'charged' AND transaction_id IS NOT NULL AND shortfall = 0) OR
        (outcome = 'insufficient_funds' AND transaction_id IS NULL AND shortfall > 0))
);
CREATE INDEX api_charges_user ON api_charges (user_id, id);

-- Answers are history: like the ledger, they are never changed.
CREATE TRIGGER api_charges_append_only BEFORE UPDATE OR DELETE ON api_charges
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
