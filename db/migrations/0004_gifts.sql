-- Gifts (礼物): the catalog of virtual gifts, and every gift sent.
--
-- What a recipient receives is gift value in the ledger: an income account
-- per recipient (system account "gift_income:<user id>", created on first
-- use), not spendable balance. System accounts keep no cached balance, so a
-- popular recipient is never a hot row that serialises every sender.

-- The catalog. A gift's name is the locale key "gift.name.<code>" and its
-- picture is /static/img/gifts/<code>.svg.
CREATE TABLE gift_items (
    id     bigserial PRIMARY KEY,
    code   text    NOT NULL UNIQUE CHECK (code ~ '^[a-z][a-z0-9_]{0,31}$'),
    price  bigint  NOT NULL CHECK (price > 0),
    sort   integer NOT NULL DEFAULT 0,
    active boolean NOT NULL DEFAULT true
);

INSERT INTO gift_items (code, price, sort) VALUES
    ('rose', 100, 10),
    ('heart', 520, 20),
    ('cake', 660, 30),
    ('crown', 1880, 40),
    ('rocket', 6600, 50),
    ('castle', 13140, 60);

-- One row per gift sent, written in the same transaction as its ledger
-- transaction. (sender_id, request_key) is the form's idempotency key: a
-- double click or a retry finds the first row instead of sending twice.
CREATE TABLE gifts (
    id             bigserial PRIMARY KEY,
    sender_id      bigint      NOT NULL REFERENCES users (id),
    recipient_id   bigint      NOT NULL REFERENCES users (id),
    item_id        bigint      NOT NULL REFERENCES gift_items (id),
    quantity       integer     NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    unit_price     bigint      NOT NULL CHECK (unit_price > 0),
    amount         bigint      NOT NULL,
    message        text        NOT NULL DEFAULT '' CHECK (char_length(message) <= 100),
    request_key    text        NOT NULL CHECK (length(request_key) BETWEEN 1 AND 64),
    transaction_id bigint      NOT NULL UNIQUE REFERENCES ledger_transactions (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT gifts_not_to_oneself CHECK (sender_id <> recipient_id),
    CONSTRAINT gifts_amount CHECK (amount = unit_price * quantity),
    UNIQUE (sender_id, request_key)
);
-- The two lists on the gifts page, newest first.
CREATE INDEX gifts_sender ON gifts (sender_id, id);
CREATE INDEX gifts_recipient ON gifts (recipient_id, id);
