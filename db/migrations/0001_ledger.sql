-- Users, wallets, the double-entry ledger, sessions and login throttling.
-- The invariants live here, not only in Go: sums to zero, append-only entries,
-- wallets never below zero, unique idempotency keys.

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text        NOT NULL CHECK (username ~ '^[A-Za-z0-9_]{3,32}$'),
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- Case-insensitive uniqueness: "Demo" and "demo" are the same person to a reader.
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

CREATE TYPE account_kind AS ENUM ('wallet', 'system');

-- A wallet belongs to one user and keeps a cached balance (updated by the
-- entry trigger below). System accounts keep no cached balance: every top-up
-- or grant touches one, so a cached balance there would be a hot row that
-- serialises all writers; their balance is the sum of their entries.
CREATE TABLE accounts (
    id         bigserial PRIMARY KEY,
    kind       account_kind NOT NULL,
    user_id    bigint UNIQUE REFERENCES users (id),
    code       text UNIQUE,
    balance    bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_owner CHECK (
        (kind = 'wallet' AND user_id IS NOT NULL AND code IS NULL AND balance IS NOT NULL) OR
        (kind = 'system' AND user_id IS NULL AND code IS NOT NULL AND balance IS NULL)),
    CONSTRAINT accounts_balance_nonnegative CHECK (balance >= 0)
);

INSERT INTO accounts (kind, code) VALUES ('system', 'grants');

CREATE TYPE txn_kind AS ENUM ('grant', 'topup', 'bonus', 'purchase', 'gift', 'charge', 'refund', 'transfer', 'reversal');

CREATE TABLE ledger_transactions (
    id              bigserial PRIMARY KEY,
    idempotency_key text        NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    -- Hash of the request behind the key: the same key with another request is refused.
    request_hash    bytea       NOT NULL,
    kind            txn_kind    NOT NULL,
    reference       text        NOT NULL,
    description     text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ledger_entries (
    id             bigserial PRIMARY KEY,
    transaction_id bigint      NOT NULL REFERENCES ledger_transactions (id),
    account_id     bigint      NOT NULL REFERENCES accounts (id),
    amount         bigint      NOT NULL CHECK (amount <> 0),
    -- The wallet's balance right after this entry (NULL for system accounts):
    -- history shows running balances without summing anything.
    balance_after  bigint,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, id);
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);

-- Every entry moves its wallet's cached balance in the same statement, so the
-- cache cannot drift from the entries; the CHECK on accounts refuses overdraft.
CREATE FUNCTION ledger_apply_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts SET balance = balance + NEW.amount
     WHERE id = NEW.account_id AND balance IS NOT NULL
    RETURNING balance INTO NEW.balance_after;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_entries_apply BEFORE INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_apply_entry();

-- Checked at commit: a transaction has at least two entries summing to zero.
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    txn bigint;
    n bigint;
    total numeric;
BEGIN
    IF TG_TABLE_NAME = 'ledger_entries' THEN txn := NEW.transaction_id; ELSE txn := NEW.id; END IF;
    SELECT count(*), coalesce(sum(amount), 0) INTO n, total FROM ledger_entries WHERE transaction_id = txn;
    IF n < 2 OR total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % is unbalanced (% entries, sum %)', txn, n, total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_balanced';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();
CREATE CONSTRAINT TRIGGER ledger_transactions_balanced AFTER INSERT ON ledger_transactions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();

-- Append-only: a mistake is corrected by a reversing transaction.
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- Server-side sessions: the cookie carries a random token, the table keeps
-- its SHA-256, so a leaked table does not hand out live sessions.
CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY,
    user_id      bigint REFERENCES users (id) ON DELETE CASCADE,
    data         bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

-- Failed logins, counted per account and per client address over a window.
CREATE TABLE login_failures (
    id         bigserial PRIMARY KEY,
    username   text        NOT NULL,
    client_ip  text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_username ON login_failures (lower(username), created_at);
CREATE INDEX login_failures_ip ON login_failures (client_ip, created_at);
