package live

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"im2pay/db"
	"im2pay/wallet"
)

// Movement is what one transaction meant to one person: enough for a toast.
// It is read for the session owner only, so it never says more than their
// own history would.
type Movement struct {
	TxnID       int64
	Kind        string       // the ledger's txn_kind: topup, bonus, gift, charge, ...
	Description string       // the transaction's catalog description (i18n.Describe)
	Amount      wallet.Money // net change of the person's wallet (0 for a gift received)
	// A gift the person received: who sent it, the item's code and how
	// many. Empty for anything else.
	GiftFrom     string
	GiftItem     string
	GiftQuantity int
}

// Reader reads balances and movements for the stream, on the primary: the
// stream shows what a write just did, which a replica may not have yet.
type Reader struct{ store *db.Store }

// NewReader returns a Reader over store.
func NewReader(store *db.Store) *Reader { return &Reader{store: store} }

// Balance is userID's wallet balance now.
func (r *Reader) Balance(ctx context.Context, userID int64) (wallet.Money, error) {
	const q = `SELECT balance FROM accounts WHERE user_id = $1 AND kind = 'wallet'`
	var fen int64
	st, err := r.store.Prepared(ctx, q)
	if err == nil {
		err = st.GetContext(ctx, &fen, userID)
	}
	if err != nil {
		return 0, fmt.Errorf("live: balance of user %d: %w", userID, db.NotFound(err, "wallet"))
	}
	return wallet.Money(fen), nil
}

// ErrNotMine means the transaction touched neither the person's wallet nor
// gave them a gift: there is nothing to tell them. A notice is only ever
// delivered to the user it names, so this is a second lock, not the first.
var ErrNotMine = errors.New("live: the transaction is not the person's")

// Movement reads transaction txnID as seen by userID: only their wallet's
// entries and a gift addressed to them.
func (r *Reader) Movement(ctx context.Context, userID, txnID int64) (Movement, error) {
	const q = `
		SELECT t.id, t.kind::text AS kind, t.description,
		       coalesce(w.amount, 0) AS amount, w.n AS wallet_entries,
		       coalesce(su.username, '') AS gift_from, coalesce(gi.code, '') AS gift_item,
		       coalesce(g.quantity, 0) AS gift_quantity
		  FROM ledger_transactions t
		  CROSS JOIN LATERAL (
		        SELECT sum(e.amount) AS amount, count(*) AS n
		          FROM ledger_entries e JOIN accounts a ON a.id = e.account_id
		         WHERE e.transaction_id = t.id AND a.user_id = $2 AND a.kind = 'wallet') w
		  LEFT JOIN gifts g ON g.transaction_id = t.id AND g.recipient_id = $2
		  LEFT JOIN users su ON su.id = g.sender_id
		  LEFT JOIN gift_items gi ON gi.id = g.item_id
		 WHERE t.id = $1`
	var row struct {
		ID            int64  `db:"id"`
		Kind          string `db:"kind"`
		Description   string `db:"description"`
		Amount        int64  `db:"amount"`
		WalletEntries int64  `db:"wallet_entries"`
		GiftFrom      string `db:"gift_from"`
		GiftItem      string `db:"gift_item"`
		GiftQuantity  int    `db:"gift_quantity"`
	}
	st, err := r.store.Prepared(ctx, q)
	if err == nil {
		err = st.GetContext(ctx, &row, txnID, userID)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return Movement{}, ErrNotMine
	}
	if err != nil {
		return Movement{}, fmt.Errorf("live: transaction %d for user %d: %w", txnID, userID, err)
	}
	if row.WalletEntries == 0 && row.GiftFrom == "" {
		return Movement{}, ErrNotMine
	}
	return Movement{TxnID: row.ID, Kind: row.Kind, Description: row.Description, Amount: wallet.Money(row.Amount),
		GiftFrom: row.GiftFrom, GiftItem: row.GiftItem, GiftQuantity: row.GiftQuantity}, nil
}
