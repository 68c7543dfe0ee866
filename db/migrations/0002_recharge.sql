-- Recharge orders, what providers told us about them, and maintenance.

-- Money arrives from a provider through its clearing account, and bonuses
-- are paid from the promotion budget. All are system accounts: no cached
-- balance, so concurrent top-ups never queue on one row.
INSERT INTO accounts (kind, code) VALUES
    ('system', 'clearing:alipay'), ('system', 'clearing:wechat'),
    ('system', 'clearing:card'), ('system', 'clearing:paypal'),
    ('system', 'promotion');

CREATE TYPE order_state AS ENUM ('pending', 'paid', 'failed', 'closed');

CREATE TABLE recharge_orders (
    id                bigserial PRIMARY KEY,
    out_trade_no      text        NOT NULL UNIQUE CHECK (out_trade_no ~ '^[0-9A-Za-z]{16,32}$'),
    user_id           bigint      NOT NULL REFERENCES users (id),
    -- The form's idempotency key: a double click or a refresh finds the
    -- order the first click created instead of making a second one.
    request_key       text        NOT NULL CHECK (length(request_key) BETWEEN 16 AND 64),
    method            text        NOT NULL CHECK (method IN ('alipay', 'wechat', 'card', 'paypal')),
    device            text        NOT NULL CHECK (device IN ('desktop', 'phone')),
    amount            bigint      NOT NULL CHECK (amount > 0),
    tier_bonus        bigint      NOT NULL DEFAULT 0 CHECK (tier_bonus >= 0),
    first_bonus       bigint      NOT NULL DEFAULT 0 CHECK (first_bonus >= 0),
    currency          text        NOT NULL DEFAULT 'CNY',
    state             order_state NOT NULL DEFAULT 'pending',
    fail_reason       text        NOT NULL DEFAULT '',
    provider_trade_no text,
    provider_ref      text        NOT NULL DEFAULT '',
    -- Where the person was sent, kept so a second "pay" reuses the payment.
    next_url          text        NOT NULL DEFAULT '',
    next_qr           text        NOT NULL DEFAULT '',
    next_form         jsonb,
    return_to         text        NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL,
    paid_at           timestamptz,
    -- When we last asked the provider, so polling pages cannot flood it.
    checked_at        timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, request_key),
    -- A provider's trade credits at most once.
    UNIQUE (method, provider_trade_no),
    CHECK ((state = 'paid') = (paid_at IS NOT NULL AND provider_trade_no IS NOT NULL))
);
CREATE INDEX recharge_orders_user ON recharge_orders (user_id, id DESC);
CREATE INDEX recharge_orders_pending ON recharge_orders (created_at) WHERE state = 'pending';

-- Every message a provider sent about an order, verified or not, kept for
-- the order's timeline and for forensics. Append-only like the ledger.
CREATE TABLE payment_events (
    id           bigserial PRIMARY KEY,
    method       text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('notify', 'return', 'query', 'complete', 'close', 'start')),
    out_trade_no text        NOT NULL DEFAULT '',
    verified     boolean     NOT NULL,
    status       text        NOT NULL DEFAULT '',
    detail       text        NOT NULL DEFAULT '',
    body         text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_events_order ON payment_events (out_trade_no, id);
CREATE TRIGGER payment_events_append_only BEFORE UPDATE OR DELETE ON payment_events
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- Maintenance switches: method 'all' or one method; a row means "closed".
CREATE TABLE maintenance (
    method     text PRIMARY KEY CHECK (method IN ('all', 'alipay', 'wechat', 'card', 'paypal')),
    message    text        NOT NULL DEFAULT '',
    until      timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
