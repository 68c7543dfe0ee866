package statement

import (
	"context"
	"database/sql"
	"strings"

	"im2pay/db"
	"im2pay/ledger"
	"im2pay/wallet"
)

// LineDetail is one history line opened: the line itself, what it refers to
// (a top-up order's number, a gift's recipient and item) as far as the
// ledger names it.
type LineDetail struct {
	Record      wallet.Record
	TxID        int64
	Reference   string
	OrderNo     string // a top-up, bonus or refund line: the order it belongs to
	GiftTo      string // a gift sent: the recipient's name
	GiftItem    string // and the item's code
	GiftCount   int
	EventCode   string // an event bonus: the event's code
	Description string
}

// Line reads entry entryID of wallet walletID. An entry of another account
// is ErrNotFound, exactly as one that does not exist, so a guessed id tells
// nothing. It reads the primary: the line was just shown, and one row by
// key costs nothing there.
func (s *Service) Line(ctx context.Context, walletID, entryID int64) (LineDetail, error) {
	const q = `
		SELECT e.id, e.created_at, t.kind, t.reference, t.description, e.amount, e.balance_after, t.id,
		       coalesce(r.username, ''), coalesce(i.code, ''), coalesce(g.quantity, 0)
		  FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
		  LEFT JOIN gifts g ON g.transaction_id = t.id
		  LEFT JOIN users r ON r.id = g.recipient_id
		  LEFT JOIN gift_items i ON i.id = g.item_id
		 WHERE e.id = $1 AND e.account_id = $2`
	var (
		d       LineDetail
		kind    string
		amount  int64
		balance sql.NullInt64
	)
	err := s.store.DB().QueryRowContext(ctx, q, entryID, walletID).Scan(&d.Record.ID, &d.Record.At, &kind,
		&d.Reference, &d.Description, &amount, &balance, &d.TxID, &d.GiftTo, &d.GiftItem, &d.GiftCount)
	if err != nil {
		return LineDetail{}, db.NotFound(err, "history line %d of wallet %d", entryID, walletID)
	}
	d.Record.Kind, d.Record.Description = ledger.Kind(kind), d.Description
	d.Record.Amount, d.Record.BalanceAfter = wallet.Money(amount), wallet.Money(balance.Int64)
	d.OrderNo, _ = strings.CutPrefix(d.Reference, "order:")
	if d.OrderNo == d.Reference {
		d.OrderNo = ""
	}
	if code, ok := strings.CutPrefix(d.Reference, "event:"); ok {
		d.EventCode = code
	}
	return d, nil
}
