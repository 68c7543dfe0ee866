package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// creditAloneSQL marks an order paid and posts its top-up in one
// statement, outside any transaction: one exchange and one commit per
// credit. It applies only to an order with no bonus to post and whose
// top-up key is new; otherwise it moves nothing and the caller takes the
// transaction path (MarkPaid, then the postings). The order's row lock is
// taken first, as on that path, so a concurrent twin waits on it and then
// finds the order paid; its statement then writes nothing. The key is
// inserted without ON CONFLICT: were it taken after all, the statement
// fails whole (ErrDuplicate), never an order paid without its entries.
// Parameters:
// $1-$7 as postSQL, $8 the order number, $9 method, $10 amount and $11
// currency as paid (checked against the order's stored price), $12 the
// provider's trade number, $13 the payment time.
const creditAloneSQL = `
	WITH paid AS (
		UPDATE recharge_orders SET state = 'paid', provider_trade_no = $12, paid_at = $13, fail_reason = '',
		       updated_at = now()
		 WHERE out_trade_no = $8 AND state <> 'paid' AND method = $9 AND pay_amount = $10 AND pay_currency = $11
		   AND tier_bonus = 0 AND first_bonus = 0
		   AND NOT EXISTS (SELECT 1 FROM ledger_transactions WHERE idempotency_key = $1)
		RETURNING ` + orderColumns + `),
	txn AS (
		INSERT INTO ledger_transactions (idempotency_key, request_hash, kind, reference, description)
		SELECT $1::text, $2::bytea, $3::txn_kind, $4::text, $5::text FROM paid
		RETURNING id),
	` + postLockAndInsert + `
	SELECT ` + orderColumns + `, (SELECT count(*) FROM entries) AS entries FROM paid`

// CreditAlone marks the order of pay paid and posts top-up, in one
// statement of its own (see creditAloneSQL), when the order has no bonus
// and top-up's key is new. moved is false when it did nothing: the order
// is paid already, is not pay's, has a bonus, or is missing. Exactly once
// stays the database's doing: the conditional update under the order's
// row lock, the unique ledger key and the unique provider trade number.
func (s *Store) CreditAlone(ctx context.Context, pay Payment, topup Posting) (o Order, moved bool, err error) {
	if !validTradeNo(pay.OutTradeNo) {
		return o, false, nil
	}
	if err := topup.validate(); err != nil {
		return o, false, err
	}
	st, err := s.Prepared(ctx, creditAloneSQL)
	if err != nil {
		return o, false, fmt.Errorf("credit order %s: %w", pay.OutTradeNo, err)
	}
	ids, amounts := topup.columns()
	var row struct {
		Order
		Entries int `db:"entries"`
	}
	start := time.Now()
	defer func() { s.posted(topup.Kind, start, moved && err == nil) }()
	err = st.GetContext(ctx, &row, topup.Key, topup.requestHash(), topup.Kind, topup.Reference, topup.Description,
		pq.Array(ids), pq.Array(amounts), pay.OutTradeNo, pay.Method, pay.Amount, pay.Currency, pay.TradeNo, pay.PaidAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return o, false, nil
	case err != nil:
		return o, false, MapError(fmt.Errorf("credit order %s: %w", pay.OutTradeNo, err))
	case row.Entries != len(topup.Entries):
		// Cannot happen: the entries follow the key's insert, which
		// either succeeded or failed the statement.
		return row.Order, true, fmt.Errorf("credit order %s: paid with %d of %d top-up entries",
			pay.OutTradeNo, row.Entries, len(topup.Entries))
	}
	return row.Order, true, nil
}
