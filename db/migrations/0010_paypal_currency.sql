-- The price a person pays the provider, which is not always the order's
-- CNY amount: PayPal takes CNY only from merchant accounts registered in
-- China, so a PayPal order is quoted in a configured currency (USD by
-- default) at a configured rate. The order keeps the currency, amount and
-- rate it was quoted with; every statement from the provider (capture,
-- notification, query) is checked against them. The ledger stays in CNY:
-- the wallet is credited the order's amount.
ALTER TABLE recharge_orders
    ADD COLUMN pay_currency text,
    -- In minor units of pay_currency: fen, cents, or whole yen for JPY.
    ADD COLUMN pay_amount   bigint,
    -- CNY per one unit of pay_currency, exactly as quoted (1 for CNY).
    ADD COLUMN pay_rate     numeric(13, 6);

-- Every order so far was quoted in CNY.
UPDATE recharge_orders SET pay_currency = currency, pay_amount = amount, pay_rate = 1;

ALTER TABLE recharge_orders
    ALTER COLUMN pay_currency SET NOT NULL,
    ALTER COLUMN pay_amount SET NOT NULL,
    ALTER COLUMN pay_rate SET NOT NULL,
    ADD CONSTRAINT recharge_orders_pay_currency CHECK (pay_currency ~ '^[A-Z]{3}$'),
    ADD CONSTRAINT recharge_orders_pay_amount CHECK (pay_amount > 0),
    ADD CONSTRAINT recharge_orders_pay_rate CHECK (pay_rate > 0),
    -- Paid in the ledger's own currency: the same amount at rate 1.
    ADD CONSTRAINT recharge_orders_pay_same_currency
        CHECK (pay_currency <> currency OR (pay_amount = amount AND pay_rate = 1)),
    -- The rounding rule (payment.Rate.Convert): the smallest amount in the
    -- currency's minor units worth at least the CNY amount, so the merchant
    -- never receives less than it credits, and never a minor unit more
    -- than that. HUF, JPY and TWD have no decimals at PayPal; every other
    -- currency has two, like the fen of amount.
    ADD CONSTRAINT recharge_orders_pay_rounded_up CHECK (
        pay_currency = currency OR (
            pay_amount * pay_rate * (CASE WHEN pay_currency IN ('HUF', 'JPY', 'TWD') THEN 100 ELSE 1 END) >= amount
            AND (pay_amount - 1) * pay_rate * (CASE WHEN pay_currency IN ('HUF', 'JPY', 'TWD') THEN 100 ELSE 1 END) < amount));
