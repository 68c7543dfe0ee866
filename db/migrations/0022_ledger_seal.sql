-- The ledger's seals: committed transactions, in id order, chained into a
-- SHA-256 hash chain by package seal (the canonical encoding is there and
-- in the README). Seal n covers the transactions with ids above seal n-1's
-- last_transaction_id up to its own; hash is SHA-256(hash of seal n-1, or
-- 32 zero bytes, || each covered transaction's canonical bytes). A seal is
-- written behind the commits, about once a second, never in the posting's
-- path: no posting waits on it.
--
-- transactions, entries and digest let `im2pay verify` say what kind of
-- change broke a seal (rows missing, added, changed or reordered); the
-- chain itself is only hash.
CREATE TABLE ledger_seals (
    n                   bigint      PRIMARY KEY CHECK (n >= 1),
    last_transaction_id bigint      NOT NULL UNIQUE,
    transactions        integer     NOT NULL CHECK (transactions >= 1),
    entries             integer     NOT NULL CHECK (entries >= 0),
    digest              bytea       NOT NULL CHECK (length(digest) = 32),
    hash                bytea       NOT NULL CHECK (length(hash) = 32),
    sealed_at           timestamptz NOT NULL
);
-- `verify` prints the last seal of each day.
CREATE INDEX ledger_seals_sealed_at ON ledger_seals (sealed_at);

-- A seal extends the chain by one: seal n-1 exists (or n is 1) and covers
-- less than seal n. Two sealers racing for the same n meet at the primary
-- key; the loser's insert does nothing.
CREATE FUNCTION ledger_seal_extends() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.n > 1 AND NOT EXISTS (
        SELECT 1 FROM ledger_seals WHERE n = NEW.n - 1 AND last_transaction_id < NEW.last_transaction_id) THEN
        RAISE EXCEPTION 'ledger seal % does not extend seal %', NEW.n, NEW.n - 1
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_seals_chain';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_seals_chain BEFORE INSERT ON ledger_seals
    FOR EACH ROW EXECUTE FUNCTION ledger_seal_extends();

-- Append-only, like the ledger it seals.
CREATE TRIGGER ledger_seals_append_only BEFORE UPDATE OR DELETE ON ledger_seals
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_seals_no_truncate BEFORE TRUNCATE ON ledger_seals
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
