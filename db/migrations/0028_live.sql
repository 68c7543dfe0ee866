-- Live balance (package live): every committed movement of a wallet, every
-- gift received and every ended session is announced with NOTIFY, so each
-- instance's one listening connection hears of money moved by any process
-- (the reconciler, another instance, the IM backend's API) without polling.
-- NOTIFY is delivered at commit and only if the transaction commits, so
-- nothing is announced that did not happen. Payloads carry ids only
-- ("user:transaction" or "user"), never an amount: whoever listens learns
-- that something moved, and reads what through the app, per person.

-- One notice per wallet owner and transaction, from the statement's new
-- entries (a transition table), not one per row: a top-up touching one
-- wallet and two system accounts sends one. System accounts (no balance)
-- belong to nobody and are skipped.
CREATE FUNCTION live_notify_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT DISTINCT a.user_id, n.transaction_id
          FROM added n JOIN accounts a ON a.id = n.account_id
         WHERE n.balance_after IS NOT NULL
    LOOP
        PERFORM pg_notify('wallet_moved', r.user_id || ':' || r.transaction_id);
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_entries_live AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION live_notify_entries();

-- A gift credits the recipient's gift income, a system account, not their
-- wallet: the recipient hears of it from the gift's own row.
CREATE FUNCTION live_notify_gift() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wallet_moved', NEW.recipient_id || ':' || NEW.transaction_id);
    RETURN NULL;
END $$;
CREATE TRIGGER gifts_live AFTER INSERT ON gifts
    FOR EACH ROW EXECUTE FUNCTION live_notify_gift();

-- A session ended (logout, a timeout swept, "log out everywhere else", a
-- password change): the owner's open streams check their own session again
-- at once, on every instance, and the ended one stops.
CREATE FUNCTION live_notify_sessions_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT DISTINCT user_id FROM gone WHERE user_id IS NOT NULL LOOP
        PERFORM pg_notify('session_ended', r.user_id::text);
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER sessions_live AFTER DELETE ON sessions
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION live_notify_sessions_deleted();

CREATE FUNCTION live_notify_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.session_generation IS DISTINCT FROM OLD.session_generation THEN
        PERFORM pg_notify('session_ended', NEW.id::text);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER users_generation_live AFTER UPDATE OF session_generation ON users
    FOR EACH ROW EXECUTE FUNCTION live_notify_generation();
