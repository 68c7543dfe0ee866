-- The operations console: staff accounts, separate from users, and the
-- audit log of everything they do.

CREATE TYPE staff_role AS ENUM ('viewer', 'operator', 'finance', 'admin');

CREATE TABLE staff (
    id                   bigserial PRIMARY KEY,
    name                 text        NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_.-]{1,31}$'),
    role                 staff_role  NOT NULL,
    password_hash        text        NOT NULL,
    -- The one-time password printed by `im2pay staff add` must be replaced
    -- at the first login.
    must_change_password boolean     NOT NULL DEFAULT true,
    -- Null until the TOTP second factor is enrolled at the first login.
    totp_secret          text,
    -- The last TOTP time step accepted: a code is good once (RFC 6238 §5.2).
    totp_last_step       bigint      NOT NULL DEFAULT 0,
    -- Bumped by a password change or a disable: older sessions are dead.
    session_generation   integer     NOT NULL DEFAULT 0,
    disabled_at          timestamptz,
    created_at           timestamptz NOT NULL
);

-- Who did what, when, from where, with the values before and after.
-- Append-only, like the ledger: the database refuses UPDATE, DELETE and
-- TRUNCATE.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    -- Null only for an attempt by a name that is no staff member's.
    staff_id    bigint      REFERENCES staff (id),
    staff_name  text        NOT NULL CHECK (length(staff_name) <= 64),
    client_ip   text        NOT NULL CHECK (length(client_ip) <= 64),
    action      text        NOT NULL CHECK (action ~ '^[a-z][a-z_.]{1,63}$'),
    object_kind text        NOT NULL DEFAULT '' CHECK (length(object_kind) <= 32),
    object_id   text        NOT NULL DEFAULT '' CHECK (length(object_id) <= 128),
    before      jsonb,
    after       jsonb,
    detail      text        NOT NULL DEFAULT '' CHECK (length(detail) <= 2000)
);
CREATE INDEX audit_log_staff ON audit_log (staff_id, id DESC);
CREATE INDEX audit_log_action ON audit_log (action, id DESC);
CREATE INDEX audit_log_object ON audit_log (object_kind, object_id, id DESC);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
