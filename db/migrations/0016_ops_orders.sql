-- The operations console's orders: search, each order's state changes
-- with their times, and maintenance messages in both languages.

-- An order's states as they happened. recharge_orders keeps only the state
-- it is in now; a support call needs when it was created, said paid,
-- failed, was cancelled or credited. Written by the database itself after
-- each insert and each change of state, so no code path can move an order
-- without leaving its line; append-only like the ledger.
CREATE TABLE recharge_order_states (
    id          bigserial PRIMARY KEY,
    order_id    bigint      NOT NULL REFERENCES recharge_orders (id),
    from_state  order_state,                -- NULL: the order was created
    to_state    order_state NOT NULL,
    fail_reason text        NOT NULL DEFAULT '',
    at          timestamptz NOT NULL
);
CREATE INDEX recharge_order_states_order ON recharge_order_states (order_id, id);
CREATE TRIGGER recharge_order_states_append_only BEFORE UPDATE OR DELETE ON recharge_order_states
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER recharge_order_states_no_truncate BEFORE TRUNCATE ON recharge_order_states
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- An AFTER trigger, beside migration 0011's BEFORE trigger that refuses a
-- forbidden move: only a change that was really stored is recorded. The
-- creation is stamped with the order's created_at (the app's clock, the
-- one that wrote it); a move with the statement's time, as updated_at is.
CREATE FUNCTION recharge_order_record_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO recharge_order_states (order_id, from_state, to_state, fail_reason, at)
        VALUES (NEW.id, NULL, NEW.state, NEW.fail_reason, NEW.created_at);
    ELSIF NEW.state IS DISTINCT FROM OLD.state THEN
        INSERT INTO recharge_order_states (order_id, from_state, to_state, fail_reason, at)
        VALUES (NEW.id, OLD.state, NEW.state, NEW.fail_reason, now());
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER recharge_orders_record_state AFTER INSERT OR UPDATE OF state ON recharge_orders
    FOR EACH ROW EXECUTE FUNCTION recharge_order_record_state();

-- Orders made before this migration: their creation, and the state they
-- are in now at their last update (the steps between were not kept).
INSERT INTO recharge_order_states (order_id, from_state, to_state, fail_reason, at)
SELECT id, NULL, 'awaiting', '', created_at FROM recharge_orders ORDER BY id;
INSERT INTO recharge_order_states (order_id, from_state, to_state, fail_reason, at)
SELECT id, 'awaiting', state, fail_reason, coalesce(paid_at, updated_at)
  FROM recharge_orders WHERE state <> 'awaiting' ORDER BY id;

-- Staff search by the provider's trade number (the unique key leads with
-- the method, which a support call rarely knows) and by creation date.
CREATE INDEX recharge_orders_provider_trade_no ON recharge_orders (provider_trade_no)
    WHERE provider_trade_no IS NOT NULL;
CREATE INDEX recharge_orders_created ON recharge_orders (created_at);

-- The ledger transactions an order caused (top-up, bonus, and later
-- refunds or corrections), found by their reference "order:NO".
CREATE INDEX ledger_transactions_reference ON ledger_transactions (reference);

-- The maintenance notice in English beside the Chinese one; each page
-- shows the one in its language.
ALTER TABLE maintenance ADD COLUMN message_en text NOT NULL DEFAULT '';
