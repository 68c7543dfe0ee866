-- Webhooks to the IM backend: every change of a wallet's balance becomes an
-- event in an outbox, written by a trigger in the same transaction as the
-- ledger entry. Nothing is announced that did not commit, and nothing that
-- committed is missed, whichever code path posted it.

-- One row: whether events are recorded at all. Off by default, so a
-- deployment without a webhook receiver pays one lookup per entry and
-- stores nothing. Starting with WEBHOOK_URL turns it on; only
-- `im2pay webhooks off` turns it off, so no instance started without the
-- setting can silently stop the announcements.
CREATE TABLE webhook_settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    enabled   boolean NOT NULL DEFAULT false
);
INSERT INTO webhook_settings DEFAULT VALUES;

CREATE TABLE webhook_events (
    id               bigserial PRIMARY KEY,
    -- The receiver deduplicates by this id: delivery is at least once.
    event_id         text        NOT NULL UNIQUE,
    entry_id         bigint      NOT NULL UNIQUE REFERENCES ledger_entries (id),
    user_id          bigint      NOT NULL REFERENCES users (id),
    type             text        NOT NULL,
    amount           bigint      NOT NULL CHECK (amount <> 0),
    balance_after    bigint      NOT NULL CHECK (balance_after >= 0),
    occurred_at      timestamptz NOT NULL,
    -- Delivery, on the app's clock: NULL next_attempt_at means due now.
    attempts         integer     NOT NULL DEFAULT 0,
    first_attempt_at timestamptz,
    next_attempt_at  timestamptz,
    leased_until     timestamptz,
    delivered_at     timestamptz,
    given_up_at      timestamptz,
    last_error       text        NOT NULL DEFAULT '',
    CHECK (delivered_at IS NULL OR given_up_at IS NULL)
);
-- The sender's queue: each user's oldest undelivered event first.
CREATE INDEX webhook_events_pending ON webhook_events (user_id, id)
    WHERE delivered_at IS NULL AND given_up_at IS NULL;

-- Each delivery attempt and what the receiver answered.
CREATE TABLE webhook_attempts (
    id         bigserial PRIMARY KEY,
    event_id   bigint      NOT NULL REFERENCES webhook_events (id),
    at         timestamptz NOT NULL,
    status     integer     NOT NULL DEFAULT 0, -- 0: no HTTP answer
    error      text        NOT NULL DEFAULT ''
);
CREATE INDEX webhook_attempts_event ON webhook_attempts (event_id, id);

-- webhook_type names an entry for the receiver by its transaction's kind;
-- a gift is received or sent by the sign of the entry.
CREATE FUNCTION webhook_type(k txn_kind, amount bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE k
        WHEN 'topup'    THEN 'topup.credited'
        WHEN 'bonus'    THEN 'bonus.credited'
        WHEN 'grant'    THEN 'grant.credited'
        WHEN 'purchase' THEN 'purchase.paid'
        WHEN 'gift'     THEN CASE WHEN amount > 0 THEN 'gift.received' ELSE 'gift.sent' END
        WHEN 'charge'   THEN 'charge.paid'
        WHEN 'refund'   THEN 'refund'
        WHEN 'transfer' THEN 'transfer'
        WHEN 'reversal' THEN 'adjustment'
    END
$$;

CREATE FUNCTION webhook_record_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- System accounts have no balance_after and no person to tell.
    IF NEW.balance_after IS NULL OR NOT (SELECT enabled FROM webhook_settings) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_events (event_id, entry_id, user_id, type, amount, balance_after, occurred_at)
    SELECT 'evt_' || NEW.id, NEW.id, a.user_id, webhook_type(t.kind, NEW.amount), NEW.amount, NEW.balance_after, NEW.created_at
      FROM accounts a, ledger_transactions t
     WHERE a.id = NEW.account_id AND t.id = NEW.transaction_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER ledger_entries_webhook AFTER INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION webhook_record_entry();
