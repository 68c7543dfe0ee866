-- The statement: the monthly summary and date-ranged CSV exports select a
-- wallet's entries by time. With only (account_id, id) they would read every
-- entry the wallet ever had; a per-use-charge wallet can hold millions.
CREATE INDEX ledger_entries_account_time ON ledger_entries (account_id, created_at);
