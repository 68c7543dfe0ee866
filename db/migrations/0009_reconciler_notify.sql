-- The reconciler's schedule, and notify endpoints that cannot fill the disk.

-- When the reconciler next asks the provider about a pending order (NULL:
-- not checked by it yet, due reconcile-after past creation), and how many
-- checks in a row failed, for a backoff per order: a failing order moves
-- to the back instead of blocking the others. Both are written with the
-- app's clock, like checked_at and expires_at they are compared with.
ALTER TABLE recharge_orders
    ADD COLUMN next_check_at  timestamptz,
    ADD COLUMN check_failures integer NOT NULL DEFAULT 0 CHECK (check_failures >= 0),
    -- When an anonymous notification last made us ask the provider to
    -- verify it (PayPal's verify-webhook-signature): at most one such call
    -- per order every few seconds.
    ADD COLUMN notify_call_at timestamptz;

-- The same rationing for notifications naming an order we do not have:
-- one slot per method, so made-up order numbers cannot add rows.
CREATE TABLE provider_call_slots (
    key text        PRIMARY KEY CHECK (length(key) <= 64),
    at  timestamptz NOT NULL
);

-- Refused requests to the provider callbacks (bad signature, malformed,
-- another merchant): counted per method, kind and day, never stored whole.
CREATE TABLE callback_refusals (
    method  text        NOT NULL,
    kind    text        NOT NULL CHECK (kind IN ('notify', 'return')),
    day     date        NOT NULL,
    refused bigint      NOT NULL CHECK (refused > 0),
    last_at timestamptz NOT NULL,
    PRIMARY KEY (method, kind, day)
);

-- A small sample of refused requests for forensics: a fixed number of
-- slots per method and kind, each body cut to 1 KB, rewritten by the first
-- refusals of each day. Its size is bounded whatever arrives.
CREATE TABLE callback_refusal_samples (
    method text        NOT NULL,
    kind   text        NOT NULL CHECK (kind IN ('notify', 'return')),
    slot   smallint    NOT NULL CHECK (slot BETWEEN 0 AND 15),
    at     timestamptz NOT NULL,
    detail text        NOT NULL CHECK (length(detail) <= 512),
    body   text        NOT NULL CHECK (octet_length(body) <= 1024),
    PRIMARY KEY (method, kind, slot)
);
