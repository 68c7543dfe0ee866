package spend

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/ledger"
	"im2pay/limits"
	"im2pay/wallet"
)

// Shortfall refuses a spend the balance cannot cover and says by how much,
// so the page can offer "充值 ¥X" for exactly the missing amount.
type Shortfall struct {
	Price, Balance wallet.Money
}

// Missing is what the person must top up.
func (s *Shortfall) Missing() wallet.Money { return s.Price - s.Balance }

func (s *Shortfall) Error() string {
	return fmt.Sprintf("spend: balance %s does not cover %s", s.Balance, s.Price)
}

// Debit is one payment out of a person's wallet into another account.
type Debit struct {
	UserID      int64
	Amount      wallet.Money
	To          int64 // the receiving account (revenue, a gift income account, ...)
	Key         string
	Kind        ledger.Kind
	Reference   string
	Description string // a locale catalog code ("desc.<code>")
}

// DebitTx posts d inside tx, in one query that locks the wallet and
// posts only when the balance covers d (ledger.Covered). An overdraft
// is refused as a *Shortfall with nothing written, so the transaction
// stays usable; the database's CHECK remains the backstop. Everything here
// goes through tx: a second pool connection inside a transaction can
// deadlock the pool.
//
// A protected person's debit is first held against their caps
// (limits.HoldSpend, which locks their protection row for tx) and counted
// once posted: a *limits.Refused refuses it with nothing written.
func (s *Service) DebitTx(ctx context.Context, tx *sqlx.Tx, d Debit) (ledger.Posted, error) {
	if d.Amount <= 0 {
		return ledger.Posted{}, fmt.Errorf("debit %q: amount %d must be positive", d.Key, d.Amount)
	}
	hold, err := s.limits.HoldSpend(ctx, tx, d.UserID, d.Amount, d.Kind == ledger.Gift)
	if err != nil {
		return ledger.Posted{}, fmt.Errorf("debit %q: %w", d.Key, err)
	}
	posted, err := s.debit(ctx, tx, d, ledger.InTx(tx))
	if err != nil || posted.Replayed {
		return posted, err
	}
	return posted, hold.Record(ctx, tx)
}

// Debit is DebitTx for a payment with nothing else to write beside it: one
// query of its own, so one exchange with the database instead of
// three. The query is gated on the payer having no protection; a
// protected payer's debit takes DebitTx's transaction instead.
func (s *Service) Debit(ctx context.Context, d Debit) (ledger.Posted, error) {
	posted, err := s.debit(ctx, s.store.DB(), d, ledger.With(&ledger.Row{Gate: limits.UnprotectedGate}))
	if !errors.Is(err, ledger.ErrGateClosed) {
		return posted, err
	}
	err = s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		var txErr error
		posted, txErr = s.DebitTx(ctx, tx, d)
		return txErr
	})
	return posted, err
}

// debit is DebitTx and Debit: q reads through the same transaction (or the
// pool, outside one), where opts (none, or ledger.InTx) post.
func (s *Service) debit(ctx context.Context, q sqlx.QueryerContext, d Debit, opts ...ledger.Option) (ledger.Posted, error) {
	if d.Amount <= 0 {
		return ledger.Posted{}, fmt.Errorf("debit %q: amount %d must be positive", d.Key, d.Amount)
	}
	walletID, err := s.ledger.WalletOf(ctx, q, d.UserID)
	if err != nil {
		return ledger.Posted{}, err
	}
	posting := d.posting(walletID)
	posted, err := s.ledger.Post(ctx, posting, append(opts, ledger.Covered(walletID, int64(d.Amount)))...)
	if errors.Is(err, ledger.ErrInsufficientFunds) {
		// A replay of a key that already moved money is not a shortfall,
		// and neither is the key reused for another request.
		replayed, rerr := s.ledger.Replay(ctx, q, posting)
		if rerr == nil || errors.Is(rerr, ledger.ErrIdempotencyMismatch) {
			return replayed, rerr
		}
		return ledger.Posted{}, &Shortfall{Price: d.Amount, Balance: wallet.Money(posted.Before)}
	}
	return posted, err
}

// ErrSessionEnded refuses a payment whose session was ended (a logout, a
// password change, "log out everywhere") while its request was under way.
var ErrSessionEnded = account.ErrSessionEnded

// holdSession keeps the session whose token hashes to hash alive until tx
// ends, or refuses with ErrSessionEnded; nil hash (no session) passes.
func holdSession(ctx context.Context, tx *sqlx.Tx, hash []byte) error {
	if hash == nil {
		return nil
	}
	return account.HoldSession(ctx, tx, hash)
}

// posting is d as a ledger posting out of wallet walletID.
func (d Debit) posting(walletID int64) ledger.Posting {
	return ledger.Posting{
		Key: d.Key, Kind: d.Kind, Reference: d.Reference, Description: d.Description,
		Entries: []ledger.Entry{{AccountID: walletID, Amount: -int64(d.Amount)}, {AccountID: d.To, Amount: int64(d.Amount)}},
	}
}

// ScopedKey namespaces a key that came from a person's form, so two people
// can never collide on the same key.
func ScopedKey(kind string, userID int64, formKey string) string {
	return fmt.Sprintf("%s:%d:%s", kind, userID, formKey)
}

// SystemAccount finds or creates a system account by code. Per-recipient
// gift income accounts are created this way on first use; system accounts
// keep no cached balance, so a popular recipient is never a hot row.
func (s *Service) SystemAccount(ctx context.Context, code string) (int64, error) {
	return s.ledger.EnsureSystemAccount(ctx, code)
}
