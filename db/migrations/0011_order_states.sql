-- Order states that tell the truth (issue 11 §2). An order is
--   awaiting    待支付  created, not paid (was 'pending')
--   processing  处理中  the person says they paid, or the provider reported
--                       a payment we have not credited yet
--   paid        充值成功
--   failed      充值失败  with the reason the provider or our checks gave
--   cancelled   已取消  the person cancelled (closed at the provider)
--   closed      已关闭  expired
-- awaiting and processing are open: the reconciler still asks about them.
-- The others are final, except that money a provider really took is always
-- credited: a failed, cancelled or closed order may still become paid. A
-- paid order never moves.
--
-- Each migration runs in one transaction, where a value added to an enum
-- cannot be used yet: the rename keeps every 'pending' row (and the partial
-- index and CHECK that name it) as 'awaiting', and the new values are only
-- named inside the trigger function's body, which runs later.
ALTER TYPE order_state RENAME VALUE 'pending' TO 'awaiting';
ALTER TYPE order_state ADD VALUE 'processing' AFTER 'awaiting';
ALTER TYPE order_state ADD VALUE 'cancelled' AFTER 'failed';

-- A failure reason belongs to a failed order only.
UPDATE recharge_orders SET fail_reason = '' WHERE state <> 'failed' AND fail_reason <> '';
ALTER TABLE recharge_orders ADD CONSTRAINT recharge_orders_reason_only_when_failed
    CHECK (state = 'failed' OR fail_reason = '');

-- The transitions, as the wallet's state machine has them (wallet/orderstate.go).
CREATE FUNCTION recharge_order_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = OLD.state THEN
        RETURN NEW;
    END IF;
    IF OLD.state::text IN ('awaiting', 'processing')
       OR (OLD.state::text IN ('failed', 'cancelled', 'closed') AND NEW.state::text = 'paid') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'recharge order %: no transition from % to %', OLD.out_trade_no, OLD.state, NEW.state
        USING ERRCODE = 'check_violation';
END
$$;
CREATE TRIGGER recharge_orders_transition BEFORE UPDATE OF state ON recharge_orders
    FOR EACH ROW EXECUTE FUNCTION recharge_order_transition();
