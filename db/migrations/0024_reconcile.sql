-- Daily reconciliation (对账, package reconcile): one report per provider
-- and day, and the differences it found, each open until a staff member
-- resolves it with a note (audited).
--
-- Fees: the provider's fee on each bill line is booked (ledger kind
-- 'charge', description 'provider_fee') between the method's clearing
-- account and 'fees:<method>', so that the clearing account's balance is
-- exactly what the provider owes us (negated, as the top-ups book it).
INSERT INTO accounts (kind, code) VALUES
    ('system', 'fees:alipay'), ('system', 'fees:wechat'), ('system', 'fees:card'), ('system', 'fees:paypal')
ON CONFLICT (code) DO NOTHING;

CREATE TABLE reconcile_reports (
    id          bigserial PRIMARY KEY,
    method      text        NOT NULL CHECK (method IN ('alipay', 'wechat', 'card', 'paypal')),
    day         date        NOT NULL,
    -- The provider's own summary figures, as the bill states them.
    bill_count  integer     NOT NULL DEFAULT 0,
    bill_gross  bigint      NOT NULL DEFAULT 0,
    bill_refund bigint      NOT NULL DEFAULT 0,
    bill_fees   bigint      NOT NULL DEFAULT 0,
    -- Count and amount per class: {"matched": n, "lost": n, ...}.
    counts      jsonb       NOT NULL DEFAULT '{}',
    totals      jsonb       NOT NULL DEFAULT '{}',
    fees_booked bigint      NOT NULL DEFAULT 0,
    raw_name    text        NOT NULL DEFAULT '',
    raw         bytea,
    created_at  timestamptz NOT NULL,
    -- Changed only when a later run found something new.
    updated_at  timestamptz NOT NULL,
    UNIQUE (method, day)
);
CREATE INDEX reconcile_reports_day ON reconcile_reports (day DESC, method);

--   lost      paid at the provider, not credited here (credited says whether
--             reconciliation credited it after the provider confirmed)
--   absent    credited here, absent from the provider's bill (never debited
--             automatically: finance decides)
--   mismatch  amount or currency differ
--   refund    a refund line we do not have, ours missing, amounts differing
CREATE TABLE reconcile_differences (
    id           bigserial PRIMARY KEY,
    report_id    bigint      NOT NULL REFERENCES reconcile_reports (id),
    class        text        NOT NULL CHECK (class IN ('lost', 'absent', 'mismatch', 'refund')),
    -- What the difference is about, stable across runs (e.g.
    -- "payment:<out_trade_no>"): a second run finds the same row.
    key          text        NOT NULL,
    out_trade_no text        NOT NULL DEFAULT '',
    trade_no     text        NOT NULL DEFAULT '',
    request_no   text        NOT NULL DEFAULT '',
    refund_id    text        NOT NULL DEFAULT '',
    ours         bigint,
    theirs       bigint,
    ours_currency   text     NOT NULL DEFAULT '',
    theirs_currency text     NOT NULL DEFAULT '',
    detail       text        NOT NULL DEFAULT '' CHECK (length(detail) <= 500),
    credited     boolean     NOT NULL DEFAULT false,
    found_at     timestamptz NOT NULL,
    resolved_at  timestamptz,
    resolved_by  bigint      REFERENCES staff (id),
    note         text        NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
    UNIQUE (report_id, key),
    CONSTRAINT reconcile_resolved CHECK ((resolved_at IS NULL) = (resolved_by IS NULL)),
    CONSTRAINT reconcile_credited CHECK (NOT credited OR class = 'lost')
);
CREATE INDEX reconcile_differences_open ON reconcile_differences (report_id) WHERE resolved_at IS NULL;
