-- The shop (增值服务), events (活动), purchases and what people own.

INSERT INTO accounts (kind, code) VALUES ('system', 'revenue:shop');

CREATE TYPE product_kind AS ENUM ('membership', 'sticker_pack', 'consumable');

CREATE TABLE products (
    id       bigserial PRIMARY KEY,
    code     text         NOT NULL UNIQUE,
    kind     product_kind NOT NULL,
    price    bigint       NOT NULL CHECK (price > 0),
    months   integer      NOT NULL DEFAULT 0 CHECK (months >= 0),   -- membership length
    days     integer      NOT NULL DEFAULT 0 CHECK (days >= 0),     -- membership length, in days
    quantity integer      NOT NULL DEFAULT 0 CHECK (quantity >= 0), -- consumable units per pack
    sort     integer      NOT NULL DEFAULT 0,
    active   boolean      NOT NULL DEFAULT true
);

INSERT INTO products (code, kind, price, months, quantity, sort) VALUES
    ('premium_1m', 'membership', 1200, 1, 0, 10),
    ('premium_3m', 'membership', 3000, 3, 0, 11),
    ('premium_12m', 'membership', 10800, 12, 0, 12),
    ('stickers_panda', 'sticker_pack', 600, 0, 0, 20),
    ('stickers_cat', 'sticker_pack', 600, 0, 0, 21),
    ('priority_100', 'consumable', 1000, 0, 100, 30);

-- Premium membership: buying again extends from the later of now and the
-- current expiry.
CREATE TABLE memberships (
    user_id    bigint PRIMARY KEY REFERENCES users (id),
    expires_at timestamptz NOT NULL
);

-- Sticker packs (owned once) and consumable units left.
CREATE TABLE owned_items (
    user_id    bigint  NOT NULL REFERENCES users (id),
    product_id bigint  NOT NULL REFERENCES products (id),
    quantity   integer NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    PRIMARY KEY (user_id, product_id)
);

CREATE TYPE event_kind AS ENUM ('bundle', 'spend_bonus');

-- Time-boxed promotions. A bundle sells membership days plus a sticker
-- pack at a price; a spend bonus credits `bonus` once per person whose
-- spending inside the window reaches `threshold`.
CREATE TABLE events (
    id                 bigserial PRIMARY KEY,
    code               text        NOT NULL UNIQUE,
    kind               event_kind  NOT NULL,
    starts_at          timestamptz NOT NULL,
    ends_at            timestamptz NOT NULL CHECK (ends_at > starts_at),
    price              bigint      NOT NULL DEFAULT 0 CHECK (price >= 0),
    list_price         bigint      NOT NULL DEFAULT 0 CHECK (list_price >= 0),
    membership_days    integer     NOT NULL DEFAULT 0,
    sticker_product_id bigint REFERENCES products (id),
    threshold          bigint      NOT NULL DEFAULT 0 CHECK (threshold >= 0),
    bonus              bigint      NOT NULL DEFAULT 0 CHECK (bonus >= 0)
);

INSERT INTO events (code, kind, starts_at, ends_at, price, list_price, membership_days, sticker_product_id)
SELECT 'winter_bundle', 'bundle', now() - interval '1 day', now() + interval '60 days', 1440, 1800, 30, id
  FROM products WHERE code = 'stickers_cat';
INSERT INTO events (code, kind, starts_at, ends_at, threshold, bonus) VALUES
    ('spend_50_get_5', 'spend_bonus', now() - interval '1 day', now() + interval '60 days', 5000, 500),
    ('autumn_bonus', 'spend_bonus', now() - interval '90 days', now() - interval '30 days', 3000, 300);

-- A spend bonus is credited once per person: this row and the ledger key
-- both say so.
CREATE TABLE event_bonuses (
    event_id   bigint      NOT NULL REFERENCES events (id),
    user_id    bigint      NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, user_id)
);

-- Every purchase, keyed by the form's idempotency key.
CREATE TABLE purchases (
    id          bigserial PRIMARY KEY,
    user_id     bigint      NOT NULL REFERENCES users (id),
    product_id  bigint REFERENCES products (id),
    event_id    bigint REFERENCES events (id),
    price       bigint      NOT NULL CHECK (price > 0),
    request_key text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, request_key),
    CHECK ((product_id IS NULL) <> (event_id IS NULL))
);

-- Per-person settings: confirm purchases above, warn below.
CREATE TABLE user_settings (
    user_id       bigint PRIMARY KEY REFERENCES users (id),
    confirm_above bigint NOT NULL DEFAULT 10000 CHECK (confirm_above >= 0),
    low_balance   bigint NOT NULL DEFAULT 1000 CHECK (low_balance >= 0)
);
