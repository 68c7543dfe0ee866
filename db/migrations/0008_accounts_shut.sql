-- Accounts that stay shut: session generations, sessions a person can see
-- and end, trusted login devices, and throttles that count before checking.

-- A password change and "log out everywhere" bump the user's generation; a
-- session carries the generation it was started under and is dead once the
-- two differ, whatever row a slow request still holds in memory.
ALTER TABLE users ADD COLUMN session_generation integer NOT NULL DEFAULT 0;

-- public_id names a session on the settings page (the token's hash never
-- leaves the server); user_agent and client_ip say which device it is.
ALTER TABLE sessions
    ADD COLUMN public_id  bigserial UNIQUE,
    ADD COLUMN generation integer NOT NULL DEFAULT 0,
    ADD COLUMN user_agent text    NOT NULL DEFAULT '' CHECK (length(user_agent) <= 512),
    ADD COLUMN client_ip  text    NOT NULL DEFAULT '' CHECK (length(client_ip) <= 64);

-- Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device
-- Cookies"): a browser that once logged in to an account keeps logging in
-- while the account is locked against everyone else. The cookie carries a
-- random token; the table keeps its SHA-256, once per account that logged
-- in from that browser.
CREATE TABLE login_devices (
    token_hash   bytea       NOT NULL,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    PRIMARY KEY (token_hash, user_id)
);
CREATE INDEX login_devices_user ON login_devices (user_id);

-- A failure made with a device cookie counts against that device, not the
-- account, so nobody else's guesses lock the owner's browser out.
ALTER TABLE login_failures ADD COLUMN device_hash bytea;
CREATE INDEX login_failures_device ON login_failures (device_hash, created_at) WHERE device_hash IS NOT NULL;
-- The account count leaves device failures out.
DROP INDEX login_failures_username;
CREATE INDEX login_failures_username ON login_failures (lower(username), created_at) WHERE device_hash IS NULL;

-- Registrations per client address, for the sign-up limit.
CREATE TABLE registrations (
    id         bigserial PRIMARY KEY,
    client_ip  text        NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX registrations_ip ON registrations (client_ip, created_at);
