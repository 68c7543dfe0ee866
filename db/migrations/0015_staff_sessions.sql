-- Staff sessions in the operations console, apart from users' sessions:
-- the cookie carries a random 256-bit token, the table its SHA-256, so a
-- copy of the table opens nothing.

CREATE TABLE staff_sessions (
    token_hash     bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    staff_id       bigint      NOT NULL REFERENCES staff (id),
    -- staff.session_generation when the session began: a password change
    -- or a disable bumps the staff row, and older sessions are dead.
    generation     integer     NOT NULL,
    -- What the login still needs before the console opens: a new password
    -- (first login), a TOTP enrollment, a TOTP code, or nothing ('full').
    stage          text        NOT NULL CHECK (stage IN ('change_password', 'totp_enroll', 'totp', 'full')),
    -- The CSRF token of every form of this session.
    csrf_token     text        NOT NULL CHECK (length(csrf_token) BETWEEN 32 AND 64),
    -- The secret shown on the enrollment page, kept here until a code
    -- proves the authenticator holds it.
    pending_totp   text,
    client_ip      text        NOT NULL CHECK (length(client_ip) <= 64),
    -- When the password was checked: the absolute timeout counts from it,
    -- across the new ids the session gets at each step.
    created_at     timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

-- Failed staff logins and TOTP codes, counted like users' login_failures
-- but apart, so a user name and a staff name never share a count.
CREATE TABLE staff_login_failures (
    id         bigserial   PRIMARY KEY,
    name       text        NOT NULL CHECK (length(name) <= 64),
    client_ip  text        NOT NULL CHECK (length(client_ip) <= 64),
    created_at timestamptz NOT NULL
);
CREATE INDEX staff_login_failures_name ON staff_login_failures (lower(name), created_at);
CREATE INDEX staff_login_failures_client ON staff_login_failures (client_ip, created_at);

-- The audit page filters by the name a line was written under (failed
-- logins by unknown names have no staff_id).
CREATE INDEX audit_log_staff_name ON audit_log (staff_name, id DESC);
