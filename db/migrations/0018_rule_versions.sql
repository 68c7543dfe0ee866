-- Versioned recharge rules (presets, per-method, per-order and daily
-- limits, tier and first-recharge bonuses): the console publishes a new
-- version, optionally scheduled, and never edits one. The rules in force at
-- a time are the latest version (by valid_from, then id) whose valid_from
-- has passed. Orders record the version they were quoted under.
CREATE TABLE recharge_rule_versions (
    id         bigserial   PRIMARY KEY,
    rules      jsonb       NOT NULL CHECK (jsonb_typeof(rules) = 'object'),
    valid_from timestamptz NOT NULL,
    -- Null only for the seed version below, which no staff member made.
    created_by bigint      REFERENCES staff (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recharge_rule_versions_in_force ON recharge_rule_versions (valid_from DESC, id DESC);
-- A version a quote was shown under must read the same later: append-only,
-- like the ledger and the audit log.
CREATE TRIGGER recharge_rule_versions_append_only BEFORE UPDATE OR DELETE ON recharge_rule_versions
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER recharge_rule_versions_no_truncate BEFORE TRUNCATE ON recharge_rule_versions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- The seed is recharge.DefaultRules (a test keeps the two equal), in force
-- since long before any order.
INSERT INTO recharge_rule_versions (rules, valid_from, created_by) VALUES (
    '{"presets": [600, 3000, 6800, 12800, 32800, 64800],
      "limits": {"alipay": {"min": 100, "max": 5000000}, "wechat": {"min": 100, "max": 2000000},
                 "card": {"min": 1000, "max": 5000000}, "paypal": {"min": 500, "max": 1000000}},
      "daily_max": 10000000,
      "tiers": [{"min": 6800, "basis_points": 500}, {"min": 32800, "basis_points": 1000}],
      "first_bonus": 600}',
    '2000-01-01 00:00:00+00', NULL);

-- Null for orders made before versions existed.
ALTER TABLE recharge_orders ADD COLUMN rules_version bigint REFERENCES recharge_rule_versions (id);

-- Events staff add from the console carry their own titles (the launch
-- events' titles are in the locale catalog). Their terms are never edited:
-- an event is ended (ends_at moved earlier) and a new one added, so a price
-- or bonus a person was shown never changes under them.
ALTER TABLE events
    ADD COLUMN title_zh    text NOT NULL DEFAULT '' CHECK (length(title_zh) <= 100),
    ADD COLUMN title_en    text NOT NULL DEFAULT '' CHECK (length(title_en) <= 100),
    ADD COLUMN desc_zh     text NOT NULL DEFAULT '' CHECK (length(desc_zh) <= 500),
    ADD COLUMN desc_en     text NOT NULL DEFAULT '' CHECK (length(desc_en) <= 500),
    ADD COLUMN created_by  bigint REFERENCES staff (id);

-- The terms of an event are fixed once written; only its window may move
-- (the console ends an event by moving ends_at earlier).
CREATE FUNCTION events_terms_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.code, NEW.kind, NEW.price, NEW.list_price, NEW.membership_days, NEW.sticker_product_id,
        NEW.threshold, NEW.bonus)
       IS DISTINCT FROM
       (OLD.code, OLD.kind, OLD.price, OLD.list_price, OLD.membership_days, OLD.sticker_product_id,
        OLD.threshold, OLD.bonus) THEN
        RAISE EXCEPTION 'the terms of event % cannot change: end it and add another', OLD.code
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER events_terms_fixed BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION events_terms_fixed();
