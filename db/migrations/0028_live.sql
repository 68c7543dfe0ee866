-- Live balance (package live): an ended session is announced with NOTIFY,
-- so each instance's one listening connection hears of a logout or "end
-- other sessions" made in any process and closes that session's streams.
-- NOTIFY is delivered at commit and only if the transaction commits. The
-- payload is the user's id only.
--
-- Money is not announced this way: a NOTIFY makes its transaction's commit
-- wait for every other notifying commit (a database-wide lock held until
-- the commit is flushed), which on the ledger's postings cost a third to
-- two thirds of figure 1's throughput. Package live reads new entries and
-- gifts per watching person instead.

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
