-- Uses of consumable items (a priority message from a pack), once per key
-- of the IM backend. Append-only: a use is a fact.
CREATE TABLE item_uses (
    idempotency_key text        PRIMARY KEY CHECK (length(idempotency_key) BETWEEN 1 AND 128),
    user_id         bigint      NOT NULL REFERENCES users (id),
    product_id      bigint      NOT NULL REFERENCES products (id),
    units_left      integer     NOT NULL CHECK (units_left >= 0),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER item_uses_append_only BEFORE UPDATE OR DELETE ON item_uses
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
