package spend

// Problem codes returned by SendGift, each a key in the views' locale
// catalog (views/i18n/catalog_gifts.go):
//
//	code                   field     args
//	gift.form_expired      ""        -
//	gift.key_reused        ""        -
//	gift.to_empty          to        -
//	gift.to_unknown        to        the name typed (string, %s)
//	gift.to_self           to        -
//	gift.choose            gift      -
//	gift.unknown           gift      -
//	gift.quantity_range    quantity  MinGiftQuantity, MaxGiftQuantity (int, %d)
//	gift.message_too_long  message   MaxGiftMessage (int, %d)
//	gift.message_invalid   message   -
//
// A balance that cannot cover the gift is a *Shortfall, not a Problem.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/ledger"
	"im2pay/limits"
	"im2pay/wallet"
)

// Limits of one gift.
const (
	MinGiftQuantity = 1
	MaxGiftQuantity = 99
	MaxGiftMessage  = 100 // characters, not bytes: a Chinese message is as long as an English one
)

// giftListLimit is how many gifts each list on the gifts page shows.
const giftListLimit = 50

// GiftIncomeCode is the code of the system account that receives the gifts
// sent to a user: gift value, not spendable balance.
func GiftIncomeCode(userID int64) string { return fmt.Sprintf("gift_income:%d", userID) }

// GiftRecord is one gift in the sent or received list; Counterparty is the
// recipient's name in the sent list and the sender's in the received list.
type GiftRecord struct {
	ID           int64
	At           time.Time
	Item         string // the gift's code
	Quantity     int
	Amount       wallet.Money
	Message      string
	Counterparty string
}

// GiftsOverview is what the gifts page shows.
type GiftsOverview struct {
	Items         []GiftItem
	Balance       wallet.Money
	Sent          []GiftRecord
	Received      []GiftRecord
	ReceivedTotal wallet.Money // the value of every gift ever received
}

// GiftRequest is a gift as the form sends it, unparsed.
type GiftRequest struct {
	SenderID                    int64
	To, Gift, Quantity, Message string
	Key                         string // the form's idempotency key
	// Session is the hash of the session token the request came with;
	// the gift is sent only while that session is alive (see
	// account.HoldSession). Nil for callers without a session.
	Session []byte
	// Confirmed: the person confirmed the total Quoted (quantity × unit
	// price) on the confirmation step. A gift above the sender's
	// ConfirmAbove is refused with *NeedsConfirmation until it is, and a
	// confirmed total that is not the total now is asked again.
	Confirmed bool
	Quoted    wallet.Money
}

// SentGift is the outcome of SendGift; for a repeated key it is the first
// outcome, with Replayed set.
type SentGift struct {
	Gift     Gift
	Replayed bool
	Balance  wallet.Money // the sender's balance right after the gift
}

// giftOrder is a request that passed every check.
type giftOrder struct {
	senderID     int64
	recipient    account.User
	item         GiftItem
	quantity     int
	message, key string
}

// GiftItems lists the gifts on offer.
func (s *Service) GiftItems(ctx context.Context) ([]GiftItem, error) {
	return s.giftItemRows(ctx)
}

// Gifts loads the gifts page's data for a user.
func (s *Service) Gifts(ctx context.Context, userID int64) (GiftsOverview, error) {
	var o GiftsOverview
	var err error
	if o.Items, err = s.GiftItems(ctx); err != nil {
		return o, err
	}
	u, err := s.accounts.UserByID(ctx, userID)
	if err != nil {
		return o, fmt.Errorf("gifts: %w", err)
	}
	bal, err := s.ledger.Balance(ctx, u.WalletID)
	if err != nil {
		return o, fmt.Errorf("gifts: %w", err)
	}
	o.Balance = wallet.Money(bal)
	sent, err := s.giftsSent(ctx, userID, giftListLimit)
	if err != nil {
		return o, err
	}
	received, err := s.giftsReceived(ctx, userID, giftListLimit)
	if err != nil {
		return o, err
	}
	total, err := s.ledger.SystemAccountTotal(ctx, GiftIncomeCode(userID))
	if err != nil {
		return o, err
	}
	o.Sent, o.Received, o.ReceivedTotal = toGiftRecords(sent), toGiftRecords(received), wallet.Money(total)
	return o, nil
}

func toGiftRecords(lines []GiftLine) []GiftRecord {
	out := make([]GiftRecord, len(lines))
	for i, l := range lines {
		out[i] = GiftRecord{ID: l.ID, At: l.CreatedAt, Item: l.ItemCode, Quantity: l.Quantity,
			Amount: wallet.Money(l.Amount), Message: l.Message, Counterparty: l.Counterparty}
	}
	return out
}

// SendGift debits quantity × price from the sender's wallet into the
// recipient's gift income account and records the gift, in one database
// transaction. Refusals are *wallet.Problem values (joined, one per field) or a
// *Shortfall. The same form key sends once: a repeat answers the first gift;
// the same key with another gift is refused with gift.key_reused.
func (s *Service) SendGift(ctx context.Context, r GiftRequest) (SentGift, error) {
	o, err := s.checkGift(ctx, r)
	if err != nil {
		return SentGift{}, err
	}
	income, err := s.giftIncomeAccount(ctx, o.recipient.ID)
	if err != nil {
		return SentGift{}, err
	}
	amount := o.item.Price * wallet.Money(o.quantity)
	// The common case, a new gift its unprotected sender can afford, below
	// their confirmation threshold or confirmed at this total, is one
	// query; anything else (a short balance, a retry, a catalog change,
	// protection, a total to confirm) writes nothing there and takes the
	// path below, which tells them apart. A gift sent from a session takes
	// that path too: it must hold the session while it pays.
	confirmed := r.Confirmed && r.Quoted == amount
	repriced := r.Quoted != 0 && r.Quoted != amount
	if r.Session == nil && !repriced {
		if sent, ok, err := s.sendGiftNow(ctx, o, income, amount, confirmed); err != nil || ok {
			return sent, err
		}
	}
	if err := s.limits.GiftsOff(ctx, r.SenderID); err != nil {
		return SentGift{}, err
	}
	if err := s.confirmGift(ctx, r, amount); err != nil {
		return SentGift{}, err
	}
	var out SentGift
	err = s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := holdSession(ctx, tx, r.Session); err != nil {
			return err
		}
		var txErr error
		out, txErr = s.recordGift(ctx, tx, o, income, amount)
		return txErr
	})
	if err != nil {
		return SentGift{}, fmt.Errorf("send gift %q of user %d: %w", r.Key, r.SenderID, err)
	}
	return out, nil
}

// confirmGift asks, before anything moves, for a confirmation of a gift
// whose total is above the sender's threshold, as the shop does: a
// balance that cannot cover it is a *Shortfall first (nothing to
// confirm), then *NeedsConfirmation with the total and the balance after.
// A confirmation of another total (the catalog changed, or a forged form)
// asks again at this one.
func (s *Service) confirmGift(ctx context.Context, r GiftRequest, amount wallet.Money) error {
	if r.Confirmed && r.Quoted == amount {
		return nil
	}
	st, err := s.SettingsOf(ctx, r.SenderID)
	if err != nil {
		return err
	}
	repriced := r.Quoted != 0 && r.Quoted != amount
	if !repriced && !r.Confirmed && amount <= st.ConfirmAbove {
		return nil
	}
	walletID, err := s.ledger.WalletOf(ctx, s.store.DB(), r.SenderID)
	if err != nil {
		return err
	}
	bal, err := s.ledger.Balance(ctx, walletID)
	if err != nil {
		return err
	}
	if wallet.Money(bal) < amount {
		return &Shortfall{Price: amount, Balance: wallet.Money(bal)}
	}
	return &NeedsConfirmation{Price: amount, BalanceAfter: wallet.Money(bal) - amount, Repriced: repriced}
}

// giftOnOfferSQL is the gate of a gift's payment sent in one query
// (see ledger.Row): the item is still on offer at the unit price the
// sender saw, the sender has no protection (a protected sender's gift
// takes the transaction, where limits.HoldSpend decides it), and the total
// needs no confirmation: confirmed at this total ($17), or not above the
// sender's threshold (their setting, or the default $18). $9 the amount,
// $11 the item, $12 the unit price, $16 the sender.
const giftOnOfferSQL = `SELECT 1 FROM gift_items i WHERE i.id = $11::bigint AND i.active AND i.price = $12::bigint
	AND ($17::boolean OR $9::bigint <= coalesce(
	    (SELECT confirm_above FROM user_settings WHERE user_id = $16::bigint), $18::bigint))
	AND ` + limits.UnprotectedCondition

// giftRowSQL records the gift from its payment's transaction, in the same
// query. A gift already recorded under the sender's key fails the
// whole query on the gifts' unique key, the payment with it, so money
// never moves without its gift. $9 is the amount paid, $10 the recipient,
// $13 the quantity, $14 the message, $15 the sender's request key, $16 the
// sender.
const giftRowSQL = `written AS (
		INSERT INTO gifts (sender_id, recipient_id, item_id, quantity, unit_price, amount, message,
		                   request_key, transaction_id)
		SELECT $16::bigint, $10::bigint, $11::bigint, $13::integer, $12::bigint, $9::bigint, $14::text, $15::text, txn.id
		  FROM txn
		RETURNING id, created_at)`

// sendGiftNow sends a gift in one query of its own: its payment, gated
// by giftOnOfferSQL, and its row. ok is false when that wrote nothing (a
// short balance, a key used before, an item retired or repriced, a
// protected sender, a total to confirm): the caller then takes the
// transaction path, which tells these apart.
func (s *Service) sendGiftNow(ctx context.Context, o giftOrder, income int64, amount wallet.Money, confirmed bool) (SentGift, bool, error) {
	walletID, err := s.ledger.WalletOf(ctx, s.store.DB(), o.senderID)
	if err != nil {
		return SentGift{}, false, nil
	}
	g := Gift{SenderID: o.senderID, RecipientID: o.recipient.ID, ItemID: o.item.ID, Quantity: o.quantity,
		UnitPrice: int64(o.item.Price), Amount: int64(amount), Message: o.message, RequestKey: o.key}
	var id sql.NullInt64
	var at sql.NullTime
	d := giftDebit(o, income, amount)
	posted, err := s.ledger.Post(ctx, d.posting(walletID), ledger.Covered(walletID, g.Amount), ledger.With(&ledger.Row{
		Gate: giftOnOfferSQL, Write: giftRowSQL, Columns: "written.id, written.created_at", Dest: []any{&id, &at},
		Args: []any{g.RecipientID, g.ItemID, g.UnitPrice, g.Quantity, g.Message, g.RequestKey, g.SenderID,
			confirmed, int64(DefaultSettings.ConfirmAbove)},
	}))
	switch {
	case errors.Is(err, ledger.ErrGateClosed), errors.Is(err, ledger.ErrInsufficientFunds),
		errors.Is(err, ledger.ErrDuplicate), errors.Is(err, ledger.ErrIdempotencyMismatch),
		errors.Is(err, ledger.ErrNotFound):
		return SentGift{}, false, nil
	case err != nil:
		return SentGift{}, false, err
	case posted.Replayed:
		return SentGift{}, false, nil
	}
	g.ID, g.CreatedAt, g.TransactionID = id.Int64, at.Time, posted.TransactionID
	return SentGift{Gift: g, Balance: wallet.Money(posted.Balances[walletID])}, true, nil
}

// giftDebit is the payment for a gift. The scoped key names the gift
// (sender, form key) in the ledger, and the gift row points back at the
// transaction.
func giftDebit(o giftOrder, income int64, amount wallet.Money) Debit {
	key := ScopedKey("gift", o.senderID, o.key)
	return Debit{UserID: o.senderID, Amount: amount, To: income, Key: key, Kind: ledger.Gift, Reference: key,
		Description: "gift_sent"}
}

// recordGift pays for the gift and records it inside tx.
func (s *Service) recordGift(ctx context.Context, tx *sqlx.Tx, o giftOrder, income int64, amount wallet.Money) (SentGift, error) {
	posted, err := s.DebitTx(ctx, tx, giftDebit(o, income, amount))
	if errors.Is(err, db.ErrIdempotencyMismatch) {
		return SentGift{}, wallet.NewProblem("", "gift.key_reused")
	}
	if err != nil {
		return SentGift{}, err
	}
	g, created, err := s.insertGift(ctx, tx, Gift{SenderID: o.senderID, RecipientID: o.recipient.ID,
		ItemID: o.item.ID, Quantity: o.quantity, UnitPrice: int64(o.item.Price), Amount: int64(amount),
		Message: o.message, RequestKey: o.key, TransactionID: posted.TransactionID})
	if errors.Is(err, ErrGiftItemChanged) {
		// The catalog changed since the item was remembered: the
		// transaction rolls back, and the next try reads it afresh.
		s.ForgetGiftItem(o.item.Code)
		return SentGift{}, wallet.NewProblem("gift", "gift.unknown")
	}
	if err != nil {
		return SentGift{}, err
	}
	// Same key and amount, another gift (say, another message): the ledger
	// replayed the first payment, so this one must not pass for it.
	if !created && (g.RecipientID != o.recipient.ID || g.ItemID != o.item.ID ||
		g.Quantity != o.quantity || g.Message != o.message) {
		return SentGift{}, wallet.NewProblem("", "gift.key_reused")
	}
	walletID, err := s.ledger.WalletOf(ctx, tx, o.senderID)
	if err != nil {
		return SentGift{}, err
	}
	return SentGift{Gift: g, Replayed: !created, Balance: wallet.Money(posted.Balances[walletID])}, nil
}

// giftIncomeAccount finds or creates the recipient's income account: a
// system account, so no cached balance and no hot row however many people
// gift one person at once.
func (s *Service) giftIncomeAccount(ctx context.Context, recipientID int64) (int64, error) {
	return s.SystemAccount(ctx, GiftIncomeCode(recipientID))
}

// checkGift validates every field, reporting all problems at once.
func (s *Service) checkGift(ctx context.Context, r GiftRequest) (giftOrder, error) {
	// The sender is not looked up: the debit finds (and locks) their
	// wallet, and refuses a sender without one.
	o := giftOrder{senderID: r.SenderID, key: r.Key}
	var problems []error
	if !validFormKey(r.Key) {
		problems = append(problems, wallet.NewProblem("", "gift.form_expired"))
	}
	var err error
	if o.recipient, err = s.giftRecipient(ctx, r.SenderID, r.To); err != nil {
		problems = append(problems, err)
	}
	if o.item, err = s.giftItem(ctx, r.Gift); err != nil {
		problems = append(problems, err)
	}
	if o.quantity, err = parseGiftQuantity(r.Quantity); err != nil {
		problems = append(problems, err)
	}
	if o.message, err = parseGiftMessage(r.Message); err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return o, errors.Join(problems...)
	}
	return o, nil
}

// giftRecipient finds the person a gift goes to. A name that could never be
// a username is unknown without asking the database.
func (s *Service) giftRecipient(ctx context.Context, senderID int64, name string) (account.User, error) {
	name = account.NormalizeUsername(name)
	if name == "" {
		return account.User{}, wallet.NewProblem("to", "gift.to_empty")
	}
	if account.ValidateUsername(name) != nil {
		if len(name) > 64 { // the field allows 64; only a crafted form sends more
			name = strings.ToValidUTF8(name[:64], "") + "…"
		}
		return account.User{}, wallet.NewProblem("to", "gift.to_unknown", name)
	}
	// Remembered once found: users are never renamed or deleted.
	u, err := s.accounts.UserByNameCached(ctx, name)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return account.User{}, wallet.NewProblem("to", "gift.to_unknown", name)
	case err != nil:
		return account.User{}, err
	case u.ID == senderID:
		return account.User{}, wallet.NewProblem("to", "gift.to_self")
	}
	return u, nil
}

func (s *Service) giftItem(ctx context.Context, code string) (GiftItem, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return GiftItem{}, wallet.NewProblem("gift", "gift.choose")
	}
	if !isGiftCode(code) {
		return GiftItem{}, wallet.NewProblem("gift", "gift.unknown")
	}
	it, err := s.giftItemByCode(ctx, code)
	if errors.Is(err, db.ErrNotFound) {
		return GiftItem{}, wallet.NewProblem("gift", "gift.unknown")
	}
	return it, err
}

func parseGiftQuantity(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < MinGiftQuantity || n > MaxGiftQuantity {
		return 0, wallet.NewProblem("quantity", "gift.quantity_range", MinGiftQuantity, MaxGiftQuantity)
	}
	return n, nil
}

// parseGiftMessage keeps the message as typed, trimmed. Control characters
// are refused: the message is one line, and PostgreSQL refuses NUL anyway.
func parseGiftMessage(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return "", wallet.NewProblem("message", "gift.message_invalid")
	}
	if utf8.RuneCountInString(s) > MaxGiftMessage {
		return "", wallet.NewProblem("message", "gift.message_too_long", MaxGiftMessage)
	}
	return s, nil
}

// isGiftCode and validFormKey match the shapes of a catalog code and of
// the keys our forms carry, so a crafted value costs no query (and no NUL
// byte ever reaches SQL).
func isGiftCode(s string) bool {
	return shaped(s, 32, func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' })
}

func validFormKey(s string) bool {
	return shaped(s, 64, func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
	})
}

func shaped(s string, maxLen int, ok func(byte) bool) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}
