-- Refunds of paid top-ups (package refund).
--
-- Money: when a refund is sent, the wallet pays the refund and the bonus
-- clawback into 'refunds:in-flight' (two ledger transactions of kind
-- 'refund', descriptions refund / refund_clawback, so 余额明细 shows two
-- lines). The provider's success moves in-flight on to the method's
-- clearing account (the refund) and to 'promotion' (the bonus goes back
-- to the budget); a definite failure reverses it to the wallet (kind
-- 'reversal'). No new txn_kind: both movements are the refund's, and the
-- description tells them apart, so every filter and webhook type stays.
-- A refund made outside the app that the wallet cannot cover is booked
-- anyway: the rest comes from the person's debt account 'debt:<user id>'
-- (negative while owed), which the next top-up repays first.
INSERT INTO accounts (kind, code) VALUES ('system', 'refunds:in-flight') ON CONFLICT (code) DO NOTHING;

--   requested  asked (a person, or staff above OPS_APPROVAL_ABOVE): waits for approval; nothing moved
--   in_flight  wallet debited, sent (or about to be) to the provider; outcome not known
--   succeeded  the provider returned the money; final
--   failed     the provider refused or failed it; the debit was reversed; final
--   rejected   refused by finance before anything moved; final
CREATE TYPE refund_state AS ENUM ('requested', 'in_flight', 'succeeded', 'failed', 'rejected');

CREATE TABLE refunds (
    id              bigserial PRIMARY KEY,
    order_id        bigint      NOT NULL REFERENCES recharge_orders (id),
    out_trade_no    text        NOT NULL,
    user_id         bigint      NOT NULL REFERENCES users (id),
    method          text        NOT NULL,
    -- Our number for the refund, sent on every retry (out_request_no,
    -- out_refund_no, ...).
    request_no      text        NOT NULL UNIQUE CHECK (request_no ~ '^[0-9A-Za-z]{16,32}$'),
    amount          bigint      NOT NULL CHECK (amount > 0),
    clawback        bigint      NOT NULL CHECK (clawback >= 0),
    state           refund_state NOT NULL,
    reason          text        NOT NULL DEFAULT '' CHECK (length(reason) <= 200),
    asked_by_staff  bigint      REFERENCES staff (id),
    asked_by_user   bigint      REFERENCES users (id),
    approved_by     bigint      REFERENCES staff (id),
    approved_at     timestamptz,
    decided_by      bigint      REFERENCES staff (id), -- who rejected
    provider_refund_id text     NOT NULL DEFAULT '',
    failure         text        NOT NULL DEFAULT '',
    detail          text        NOT NULL DEFAULT '' CHECK (length(detail) <= 500),
    -- Made outside the app (merchant portal, chargeback), booked from a
    -- notification: external_no is the provider's number for it.
    external        boolean     NOT NULL DEFAULT false,
    chargeback      boolean     NOT NULL DEFAULT false,
    external_no     text,
    -- What the wallet could not cover of an external refund: booked as debt.
    debt            bigint      NOT NULL DEFAULT 0 CHECK (debt >= 0),
    requested_at    timestamptz NOT NULL,
    sent_at         timestamptz,
    finished_at     timestamptz,
    -- The checker's schedule for an in-flight refund (see refund.Pass).
    next_check_at   timestamptz,
    check_failures  integer     NOT NULL DEFAULT 0,
    lease_until     timestamptz,
    CONSTRAINT refunds_asker CHECK (external OR ((asked_by_staff IS NULL) <> (asked_by_user IS NULL))),
    -- Four eyes: whoever asked cannot approve or reject.
    CONSTRAINT refunds_four_eyes CHECK (approved_by IS NULL OR asked_by_staff IS NULL OR approved_by <> asked_by_staff),
    CONSTRAINT refunds_four_eyes_reject CHECK (decided_by IS NULL OR asked_by_staff IS NULL OR decided_by <> asked_by_staff),
    CONSTRAINT refunds_external_no CHECK (external = (external_no IS NOT NULL)),
    CONSTRAINT refunds_finished CHECK ((state IN ('succeeded', 'failed', 'rejected')) = (finished_at IS NOT NULL))
);
-- At most one refund of an order open (waiting or in flight) at a time.
CREATE UNIQUE INDEX refunds_one_open ON refunds (order_id) WHERE state IN ('requested', 'in_flight');
-- An external refund is booked once however often it is notified.
CREATE UNIQUE INDEX refunds_external_once ON refunds (order_id, external_no) WHERE external;
CREATE INDEX refunds_due ON refunds (next_check_at) WHERE state = 'in_flight';
CREATE INDEX refunds_user ON refunds (user_id, id DESC);
CREATE INDEX refunds_requested ON refunds (id) WHERE state = 'requested';

-- A finished refund never changes; only the listed moves are allowed.
CREATE FUNCTION refund_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.order_id <> OLD.order_id OR NEW.request_no <> OLD.request_no OR NEW.amount <> OLD.amount
       OR NEW.clawback <> OLD.clawback OR NEW.user_id <> OLD.user_id THEN
        RAISE EXCEPTION 'refund %: amounts and numbers never change', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.state <> OLD.state AND NOT (
        (OLD.state = 'requested' AND NEW.state IN ('in_flight', 'rejected')) OR
        (OLD.state = 'in_flight' AND NEW.state IN ('succeeded', 'failed'))) THEN
        RAISE EXCEPTION 'refund %: % -> % refused', OLD.id, OLD.state, NEW.state USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.state IN ('succeeded', 'failed', 'rejected') THEN
        RAISE EXCEPTION 'refund %: already %', OLD.id, OLD.state USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER refunds_move BEFORE UPDATE ON refunds FOR EACH ROW EXECUTE FUNCTION refund_move();
CREATE TRIGGER refunds_no_delete BEFORE DELETE ON refunds FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
