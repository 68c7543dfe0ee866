-- Spending protection a person sets for themselves (issue 16): caps on
-- spending and on top-ups, and minors' mode (青少年模式) behind a
-- guardian PIN. A protection row exists once a person has set anything;
-- every capped spend locks it first, so the check and the debit of two
-- concurrent spends are decided one after the other.
CREATE TABLE protection (
    user_id          bigint PRIMARY KEY REFERENCES users (id),
    minors           boolean NOT NULL DEFAULT false,
    -- The guardian PIN, hashed like a password (account.PasswordHasher);
    -- empty until minors' mode is first turned on.
    pin_hash         text NOT NULL DEFAULT '',
    -- Wrong PINs in a row, and until when (the app's clock) no PIN is tried.
    pin_failures     integer NOT NULL DEFAULT 0 CHECK (pin_failures >= 0),
    pin_locked_until timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- One cap per row: amount 0 is "no cap". A raise waits 24 hours (a
-- cooling-off): next_amount takes effect at next_at, decided by the
-- app's clock when the cap is read; a lowering replaces amount at once.
CREATE TABLE protection_caps (
    user_id     bigint NOT NULL REFERENCES protection (user_id),
    cap         text NOT NULL CHECK (cap IN ('spend_day', 'spend_month', 'topup_day', 'topup_month')),
    amount      bigint NOT NULL DEFAULT 0 CHECK (amount >= 0),
    next_amount bigint CHECK (next_amount >= 0),
    next_at     timestamptz,
    CHECK ((next_amount IS NULL) = (next_at IS NULL)),
    PRIMARY KEY (user_id, cap)
);

-- What a protected person spent per Beijing day (the app's clock), written
-- in the transaction of each spend while the protection row is locked.
CREATE TABLE spend_usage (
    user_id bigint NOT NULL REFERENCES protection (user_id),
    day     date NOT NULL,
    amount  bigint NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (user_id, day)
);
