-- Wrong TOTP codes get a tighter limit of their own than passwords: whoever
-- reaches the code step already holds the password, and six digits are a
-- small space. The column says which factor a failed guess was.
ALTER TABLE staff_login_failures
    ADD COLUMN factor text NOT NULL DEFAULT 'password' CHECK (factor IN ('password', 'code'));
