package spend

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
	"im2pay/wallet"
)

// GiftItem is one gift of the catalog. Its name is the locale key
// "gift.name.<Code>" and its picture /static/img/gifts/<Code>.svg.
type GiftItem struct {
	ID    int64        `db:"id"`
	Code  string       `db:"code"`
	Price wallet.Money `db:"price"`
}

// Gift is one gift sent: Quantity items of ItemID at UnitPrice each, paid
// by ledger transaction TransactionID.
type Gift struct {
	ID            int64     `db:"id"`
	SenderID      int64     `db:"sender_id"`
	RecipientID   int64     `db:"recipient_id"`
	ItemID        int64     `db:"item_id"`
	Quantity      int       `db:"quantity"`
	UnitPrice     int64     `db:"unit_price"`
	Amount        int64     `db:"amount"`
	Message       string    `db:"message"`
	RequestKey    string    `db:"request_key"`
	TransactionID int64     `db:"transaction_id"`
	CreatedAt     time.Time `db:"created_at"`
}

// GiftLine is a gift as the lists show it: with the gift's code and the
// other person's name (the recipient in the sent list, the sender in the
// received list).
type GiftLine struct {
	Gift
	ItemCode     string `db:"item_code"`
	Counterparty string `db:"counterparty"`
}

const giftColumns = `id, sender_id, recipient_id, item_id, quantity, unit_price, amount, message,
	request_key, transaction_id, created_at`

// giftItemRows lists the gifts on offer, in catalog order.
func (s *Service) giftItemRows(ctx context.Context) ([]GiftItem, error) {
	const q = `SELECT id, code, price FROM gift_items WHERE active ORDER BY sort, id`
	var out []GiftItem
	if err := s.store.DB().SelectContext(ctx, &out, q); err != nil {
		return nil, fmt.Errorf("gift items: %w", err)
	}
	return out, nil
}

// giftItemByCode finds a gift on offer by its code; a retired gift is
// ErrNotFound. A gift found is remembered (the catalog is a handful of
// rows and every gift sent needs its price), so the answer may be stale:
// insertGift checks the item against the catalog again in the query
// that records the gift, and refuses a retired or repriced one, so a
// crafted form cannot buy it either way. ForgetGiftItem drops the entry.
func (s *Service) giftItemByCode(ctx context.Context, code string) (GiftItem, error) {
	if it, ok := s.giftItems.Get(code); ok {
		return it, nil
	}
	const q = `SELECT id, code, price FROM gift_items WHERE code = $1 AND active`
	var it GiftItem
	if err := s.store.DB().GetContext(ctx, &it, q, code); err != nil {
		return it, db.NotFound(err, "gift item %q", code)
	}
	// Only codes of the catalog get here, so the cache cannot grow past it.
	s.giftItems.Put(code, it)
	return it, nil
}

// ForgetGiftItem drops a remembered gift item, after insertGift found it
// retired or repriced (and for tests that play an instance's stale
// catalog).
func (s *Service) ForgetGiftItem(code string) { s.giftItems.Forget(code) }

// ErrGiftItemChanged is insertGift's refusal of an item no longer on offer
// at the unit price given.
var ErrGiftItemChanged = errors.New("spend: gift item retired or repriced")

// insertGiftSQL inserts a gift whose item is still on offer at its unit
// price, or finds the sender's gift under the same key.
const insertGiftSQL = `
	WITH ins AS (
		INSERT INTO gifts (sender_id, recipient_id, item_id, quantity, unit_price, amount, message,
		                   request_key, transaction_id)
		SELECT $1::bigint, $2::bigint, i.id, $4::integer, i.price, $6::bigint, $7::text, $8::text, $9::bigint
		  FROM gift_items i WHERE i.id = $3::bigint AND i.active AND i.price = $5::bigint
		ON CONFLICT (sender_id, request_key) DO NOTHING
		RETURNING ` + giftColumns + `)
	SELECT true AS created, ` + giftColumns + ` FROM ins
	UNION ALL
	SELECT false, ` + giftColumns + ` FROM gifts
	 WHERE sender_id = $1 AND request_key = $8 AND NOT EXISTS (SELECT 1 FROM ins)`

// insertGift records g inside tx, or returns the gift the same sender
// already recorded under the same request key (created is then false). The
// item must still be on offer at g.UnitPrice, checked in the same
// query (ErrGiftItemChanged otherwise).
func (s *Service) insertGift(ctx context.Context, tx *sqlx.Tx, g Gift) (Gift, bool, error) {
	var out struct {
		Created bool `db:"created"`
		Gift
	}
	err := s.store.TxGet(ctx, tx, &out, insertGiftSQL, g.SenderID, g.RecipientID, g.ItemID, g.Quantity,
		g.UnitPrice, g.Amount, g.Message, g.RequestKey, g.TransactionID)
	if errors.Is(err, sql.ErrNoRows) {
		// A twin that committed after this query's snapshot is
		// visible to a new one (the wallet lock every gift takes first
		// makes that rare); found nowhere, the catalog refused the item.
		if prev, err := giftByKey(ctx, tx, g.SenderID, g.RequestKey); !errors.Is(err, db.ErrNotFound) {
			return prev, false, err
		}
		return Gift{}, false, fmt.Errorf("insert gift %q of user %d: item %d at %d: %w",
			g.RequestKey, g.SenderID, g.ItemID, g.UnitPrice, ErrGiftItemChanged)
	}
	if err != nil {
		return Gift{}, false, db.MapError(fmt.Errorf("insert gift %q of user %d: %w", g.RequestKey, g.SenderID, err))
	}
	return out.Gift, out.Created, nil
}

// giftByKey finds the gift a sender recorded under a request key.
func giftByKey(ctx context.Context, tx *sqlx.Tx, senderID int64, key string) (Gift, error) {
	const q = `SELECT ` + giftColumns + ` FROM gifts WHERE sender_id = $1 AND request_key = $2`
	var g Gift
	err := tx.GetContext(ctx, &g, q, senderID, key)
	return g, db.NotFound(err, "gift %q of user %d", key, senderID)
}

// giftsSent lists the newest gifts a user sent, with each recipient's name.
func (s *Service) giftsSent(ctx context.Context, userID int64, limit int) ([]GiftLine, error) {
	const q = `
		SELECT g.id, g.sender_id, g.recipient_id, g.item_id, g.quantity, g.unit_price, g.amount, g.message,
		       g.request_key, g.transaction_id, g.created_at, i.code AS item_code, u.username AS counterparty
		  FROM gifts g JOIN gift_items i ON i.id = g.item_id JOIN users u ON u.id = g.recipient_id
		 WHERE g.sender_id = $1
		 ORDER BY g.id DESC
		 LIMIT $2`
	var out []GiftLine
	if err := s.store.DB().SelectContext(ctx, &out, q, userID, limit); err != nil {
		return nil, fmt.Errorf("gifts sent by user %d: %w", userID, err)
	}
	return out, nil
}

// giftsReceived lists the newest gifts a user received, with each sender's name.
func (s *Service) giftsReceived(ctx context.Context, userID int64, limit int) ([]GiftLine, error) {
	const q = `
		SELECT g.id, g.sender_id, g.recipient_id, g.item_id, g.quantity, g.unit_price, g.amount, g.message,
		       g.request_key, g.transaction_id, g.created_at, i.code AS item_code, u.username AS counterparty
		  FROM gifts g JOIN gift_items i ON i.id = g.item_id JOIN users u ON u.id = g.sender_id
		 WHERE g.recipient_id = $1
		 ORDER BY g.id DESC
		 LIMIT $2`
	var out []GiftLine
	if err := s.store.DB().SelectContext(ctx, &out, q, userID, limit); err != nil {
		return nil, fmt.Errorf("gifts received by user %d: %w", userID, err)
	}
	return out, nil
}
