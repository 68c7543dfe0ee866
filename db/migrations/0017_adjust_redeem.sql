-- Adjustments by support staff (客服调整) and redemption codes (兑换码):
-- two new ways money moves, each a ledger transaction of its own kind.
--
-- Each migration runs in one transaction, where a value just added to an
-- enum cannot be used yet (see 0011): nothing below names the new kinds as
-- txn_kind values; webhook_type compares the kind as text.
ALTER TYPE txn_kind ADD VALUE 'adjustment';
ALTER TYPE txn_kind ADD VALUE 'redeem';

CREATE OR REPLACE FUNCTION webhook_type(k txn_kind, amount bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE k::text
        WHEN 'topup'      THEN 'topup.credited'
        WHEN 'bonus'      THEN 'bonus.credited'
        WHEN 'grant'      THEN 'grant.credited'
        WHEN 'purchase'   THEN 'purchase.paid'
        WHEN 'gift'       THEN CASE WHEN amount > 0 THEN 'gift.received' ELSE 'gift.sent' END
        WHEN 'charge'     THEN 'charge.paid'
        WHEN 'refund'     THEN 'refund'
        WHEN 'transfer'   THEN 'transfer'
        WHEN 'reversal'   THEN 'adjustment'
        WHEN 'adjustment' THEN 'adjustment'
        WHEN 'redeem'     THEN 'redeem.credited'
    END
$$;

-- Every adjustment is posted against this one account, so its total is
-- what support has given (negative) or taken back (positive) overall.
INSERT INTO accounts (kind, code) VALUES ('system', 'adjustments') ON CONFLICT (code) DO NOTHING;

-- An adjustment is posted at once, or (above OPS_APPROVAL_ABOVE) requested
-- and posted only when a second staff member approves it (four eyes).
--   requested  waits for a second staff member
--   rejected   refused by the second staff member; final
--   posted     the ledger transaction exists; final
CREATE TYPE adjustment_state AS ENUM ('requested', 'rejected', 'posted');

CREATE TABLE adjustments (
    id             bigserial PRIMARY KEY,
    user_id        bigint      NOT NULL REFERENCES users (id),
    direction      text        NOT NULL CHECK (direction IN ('credit', 'debit')),
    amount         bigint      NOT NULL CHECK (amount > 0 AND amount <= 1000000000000),
    reason         text        NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 200),
    ticket         text        NOT NULL CHECK (length(btrim(ticket)) BETWEEN 1 AND 64),
    state          adjustment_state NOT NULL,
    requested_by   bigint      NOT NULL REFERENCES staff (id),
    requested_at   timestamptz NOT NULL,
    -- Null for an adjustment under the threshold, posted on request.
    decided_by     bigint      REFERENCES staff (id),
    decided_at     timestamptz,
    transaction_id bigint      UNIQUE REFERENCES ledger_transactions (id),
    -- Four eyes: whoever asked cannot decide.
    CONSTRAINT adjustments_four_eyes CHECK (decided_by IS NULL OR decided_by <> requested_by),
    CONSTRAINT adjustments_decided CHECK ((state = 'requested') = (decided_at IS NULL)),
    CONSTRAINT adjustments_rejected_by CHECK (state <> 'rejected' OR decided_by IS NOT NULL),
    CONSTRAINT adjustments_posted_txn CHECK ((state = 'posted') = (transaction_id IS NOT NULL))
);
CREATE INDEX adjustments_requested ON adjustments (id) WHERE state = 'requested';
CREATE INDEX adjustments_user ON adjustments (user_id, id DESC);

-- Only a request is ever decided, once; a decided adjustment never changes.
CREATE FUNCTION adjustment_decide_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state::text <> 'requested' THEN
        RAISE EXCEPTION 'adjustment %: already %', OLD.id, OLD.state USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.user_id <> OLD.user_id OR NEW.direction <> OLD.direction OR NEW.amount <> OLD.amount
       OR NEW.reason <> OLD.reason OR NEW.ticket <> OLD.ticket OR NEW.requested_by <> OLD.requested_by
       OR NEW.requested_at <> OLD.requested_at THEN
        RAISE EXCEPTION 'adjustment %: only the decision may be written', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER adjustments_decide_once BEFORE UPDATE ON adjustments
    FOR EACH ROW EXECUTE FUNCTION adjustment_decide_once();
CREATE TRIGGER adjustments_no_delete BEFORE DELETE ON adjustments
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- A batch of redemption codes, each worth amount, paid from the batch's own
-- system account (redeem:batch:<id>), so a batch's total says how much of
-- it was redeemed.
CREATE TABLE redeem_batches (
    id          bigserial PRIMARY KEY,
    amount      bigint      NOT NULL CHECK (amount > 0 AND amount <= 100000000),
    code_count  integer     NOT NULL CHECK (code_count BETWEEN 1 AND 10000),
    per_person  integer     NOT NULL CHECK (per_person BETWEEN 1 AND 10000),
    expires_at  timestamptz NOT NULL,
    note        text        NOT NULL DEFAULT '' CHECK (length(note) <= 200),
    account_id  bigint      REFERENCES accounts (id),
    created_by  bigint      NOT NULL REFERENCES staff (id),
    created_at  timestamptz NOT NULL,
    voided_by   bigint      REFERENCES staff (id),
    voided_at   timestamptz,
    CONSTRAINT redeem_batches_voided CHECK ((voided_by IS NULL) = (voided_at IS NULL))
);

-- A code is kept only as the SHA-256 of its canonical form: whoever reads
-- the table cannot redeem it.
CREATE TABLE redeem_codes (
    id             bigserial PRIMARY KEY,
    batch_id       bigint      NOT NULL REFERENCES redeem_batches (id),
    code_hash      bytea       NOT NULL UNIQUE CHECK (length(code_hash) = 32),
    redeemed_by    bigint      REFERENCES users (id),
    redeemed_at    timestamptz,
    CONSTRAINT redeem_codes_redeemed CHECK ((redeemed_by IS NULL) = (redeemed_at IS NULL))
);
CREATE INDEX redeem_codes_person ON redeem_codes (batch_id, redeemed_by) WHERE redeemed_by IS NOT NULL;

-- A redeemed code stays redeemed.
CREATE FUNCTION redeem_code_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.redeemed_by IS NOT NULL OR NEW.batch_id <> OLD.batch_id OR NEW.code_hash <> OLD.code_hash THEN
        RAISE EXCEPTION 'redeem code %: already redeemed', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER redeem_codes_once BEFORE UPDATE ON redeem_codes
    FOR EACH ROW EXECUTE FUNCTION redeem_code_once();

-- Every redemption attempt, at the app's clock, for the throttles per
-- person and per client address.
CREATE TABLE redeem_attempts (
    id        bigserial PRIMARY KEY,
    user_id   bigint      NOT NULL REFERENCES users (id),
    client_ip text        NOT NULL CHECK (length(client_ip) <= 64),
    at        timestamptz NOT NULL
);
CREATE INDEX redeem_attempts_user ON redeem_attempts (user_id, at);
CREATE INDEX redeem_attempts_client ON redeem_attempts (client_ip, at);
