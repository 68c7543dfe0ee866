-- The partial index of pending orders became, with migration 0011's
-- rename, an index of awaiting orders only; the reconciler's queries ask
-- for every open order (awaiting or processing), which it no longer
-- covers. 'processing' could not be named in 0011 itself: an enum value
-- added in a transaction cannot be used in it.
DROP INDEX recharge_orders_pending;
CREATE INDEX recharge_orders_open ON recharge_orders (created_at) WHERE state IN ('awaiting', 'processing');
