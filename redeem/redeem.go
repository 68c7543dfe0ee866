package redeem

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
	"im2pay/ledger"
	"im2pay/wallet"
)

// Limits throttle redemption attempts, whatever their outcome, per person
// and per client address over Window.
type Limits struct {
	PerPerson, PerClient int
	Window               time.Duration
}

// DefaultLimits: ten tries an hour per person, thirty per address (a
// family or office behind one address).
var DefaultLimits = Limits{PerPerson: 10, PerClient: 30, Window: time.Hour}

// lockClassClient serialises one client address's attempts, so that many
// sent at once are counted one after the other (see db.AdvisoryLock; the
// classes below 100 are db's).
const lockClassClient = 1401

// Options configure the service.
type Options struct {
	Ledger *ledger.Ledger
	Now    func() time.Time // the app's clock; nil: time.Now
	Limits Limits           // zero: DefaultLimits
}

// Service makes batches and redeems codes.
type Service struct {
	store  *db.Store
	ledger *ledger.Ledger
	now    func() time.Time
	limits Limits
}

// NewService returns the redemption codes over store.
func NewService(store *db.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Limits == (Limits{}) {
		o.Limits = DefaultLimits
	}
	store.PrepareForTx(lookupSQL, diagnoseSQL)
	return &Service{store: store, ledger: o.Ledger, now: o.Now, limits: o.Limits}
}

// Redeemed is a code credited.
type Redeemed struct {
	Amount  wallet.Money
	Balance wallet.Money // the wallet's balance right after
	BatchID int64
}

// Redeem credits the code typed by user userID, from clientIP, once. Every
// attempt but an empty one counts against the throttles. Refusals are
// *wallet.Problem values on field "code" (see the package comment).
//
// An unknown code (or a malformed one) and a used one take the same path:
// the attempt recorded, the code looked up by its hash, the gated posting
// run (its gate finds no unredeemed code either way, so nothing is
// written), the code read again to say why. Only the answer differs.
func (s *Service) Redeem(ctx context.Context, userID int64, clientIP, typed string) (Redeemed, error) {
	code, _ := Canonical(typed)
	if code == "" {
		return Redeemed{}, wallet.NewProblem("code", "redeem.empty")
	}
	h := hash(code)
	walletID, err := s.ledger.WalletOf(ctx, s.store.DB(), userID)
	if err != nil {
		return Redeemed{}, err
	}
	var out Redeemed
	var refusal error
	client := clientKey(clientIP)
	err = s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		out, refusal = Redeemed{}, nil
		wait, err := s.admit(ctx, tx, userID, walletID, client)
		if err != nil {
			return err
		}
		if wait > 0 {
			minutes := int((wait + time.Minute - 1) / time.Minute)
			refusal = wallet.NewProblem("code", "redeem.throttled", minutes)
			return nil
		}
		var code string
		if out, code, err = s.redeemTx(ctx, tx, userID, walletID, h); code != "" {
			refusal = wallet.NewProblem("code", code)
		}
		return err
	})
	if err != nil {
		return Redeemed{}, fmt.Errorf("redeem for user %d: %w", userID, err)
	}
	return out, refusal
}

// admit takes the locks of an attempt (the client address's, then the
// person's wallet row, which the posting takes anyway: the same order for
// every attempt) and records it, unless a throttle is full: then the wait
// until it opens comes back and nothing is written. With the wallet locked,
// the following statements see every earlier redemption by this person.
func (s *Service) admit(ctx context.Context, tx *sqlx.Tx, userID, walletID int64, clientIP string) (time.Duration, error) {
	if err := db.AdvisoryLock(ctx, tx, lockClassClient, clientIP); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE`, walletID); err != nil {
		return 0, fmt.Errorf("lock wallet %d: %w", walletID, err)
	}
	now := s.now()
	var c struct {
		ByPerson     int          `db:"by_person"`
		OldestPerson sql.NullTime `db:"oldest_person"`
		ByClient     int          `db:"by_client"`
		OldestClient sql.NullTime `db:"oldest_client"`
	}
	const count = `
		SELECT count(*) FILTER (WHERE user_id = $1) AS by_person, min(at) FILTER (WHERE user_id = $1) AS oldest_person,
		       count(*) FILTER (WHERE client_ip = $2) AS by_client, min(at) FILTER (WHERE client_ip = $2) AS oldest_client
		  FROM redeem_attempts
		 WHERE at > $3 AND at <= $4 AND (user_id = $1 OR client_ip = $2)`
	if err := tx.GetContext(ctx, &c, count, userID, clientIP, now.Add(-s.limits.Window), now); err != nil {
		return 0, fmt.Errorf("count redemption attempts: %w", err)
	}
	var wait time.Duration
	if c.ByPerson >= s.limits.PerPerson && c.OldestPerson.Valid {
		wait = c.OldestPerson.Time.Add(s.limits.Window).Sub(now)
	}
	if c.ByClient >= s.limits.PerClient && c.OldestClient.Valid {
		wait = max(wait, c.OldestClient.Time.Add(s.limits.Window).Sub(now))
	}
	if wait > 0 {
		return wait, nil
	}
	const insert = `INSERT INTO redeem_attempts (user_id, client_ip, at) VALUES ($1, $2, $3)`
	if _, err := tx.ExecContext(ctx, insert, userID, clientIP, now); err != nil {
		return 0, fmt.Errorf("record redemption attempt: %w", err)
	}
	return 0, nil
}

// lookupSQL finds the code's batch: what the posting moves, from where.
const lookupSQL = `
	SELECT b.id, b.amount, b.account_id
	  FROM redeem_codes c JOIN redeem_batches b ON b.id = c.batch_id
	 WHERE c.code_hash = $1`

// gateSQL marks the code redeemed as the gate of its posting (see
// ledger.Row), so the code and the credit are one statement: the code
// unredeemed (a concurrent twin waits on its row lock, then finds it
// redeemed), its batch neither voided nor expired at the app's clock, the
// person under the batch's limit, and the batch still paying this amount
// from this account. $10 the person, $11 now, $12 the code's hash, $13
// the amount, $14 the batch's account.
const gateSQL = `
	UPDATE redeem_codes c SET redeemed_by = $10::bigint, redeemed_at = $11::timestamptz
	  FROM redeem_batches b
	 WHERE c.code_hash = $12::bytea AND c.redeemed_by IS NULL AND b.id = c.batch_id
	   AND b.voided_at IS NULL AND b.expires_at > $11::timestamptz
	   AND b.amount = $13::bigint AND b.account_id = $14::bigint
	   AND (SELECT count(*) FROM redeem_codes u WHERE u.batch_id = b.id AND u.redeemed_by = $10::bigint) < b.per_person
	RETURNING c.id`

// diagnoseSQL says why a code was not redeemed; no row: unknown.
const diagnoseSQL = `
	SELECT c.redeemed_by IS NOT NULL AS used, b.voided_at IS NOT NULL AS voided, b.expires_at <= $2 AS expired,
	       (SELECT count(*) FROM redeem_codes u WHERE u.batch_id = b.id AND u.redeemed_by = $3) >= b.per_person AS limited
	  FROM redeem_codes c JOIN redeem_batches b ON b.id = c.batch_id
	 WHERE c.code_hash = $1`

// redeemTx looks the code up, posts it gated, and says why not when the
// gate stayed closed: the refusal's problem code, "" when credited. An unknown code posts a stand-in that can never be
// written (its gate finds no code), so it costs what a used code does.
func (s *Service) redeemTx(ctx context.Context, tx *sqlx.Tx, userID, walletID int64, h []byte) (Redeemed, string, error) {
	var b struct {
		ID      int64         `db:"id"`
		Amount  int64         `db:"amount"`
		Account sql.NullInt64 `db:"account_id"`
	}
	err := s.store.TxGet(ctx, tx, &b, lookupSQL, h)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Redeemed{}, "", fmt.Errorf("look up code: %w", err)
	}
	from, amount := b.Account.Int64, b.Amount
	if !b.Account.Valid || amount <= 0 {
		from, amount = walletID, 1 // never written: the gate finds no code
	}
	now := s.now()
	ref := "redeem:batch:" + strconv.FormatInt(b.ID, 10)
	p := ledger.Posting{Key: "redeem:" + hex.EncodeToString(h), Kind: ledger.Redeem, Reference: ref,
		Description: "redeem_code",
		Entries:     []ledger.Entry{{AccountID: from, Amount: -amount}, {AccountID: walletID, Amount: amount}}}
	posted, err := s.ledger.Post(ctx, p, ledger.InTx(tx), ledger.With(&ledger.Row{
		Gate: gateSQL, NewKey: true, Args: []any{userID, now, h, amount, from}}))
	switch {
	case err == nil:
		return Redeemed{Amount: wallet.Money(amount), Balance: wallet.Money(posted.Balances[walletID]), BatchID: b.ID}, "", nil
	case !errors.Is(err, ledger.ErrGateClosed):
		return Redeemed{}, "", err
	}
	var why struct {
		Used    bool `db:"used"`
		Voided  bool `db:"voided"`
		Expired bool `db:"expired"`
		Limited bool `db:"limited"`
	}
	err = s.store.TxGet(ctx, tx, &why, diagnoseSQL, h, now, userID)
	code := "redeem.unknown"
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return Redeemed{}, "", fmt.Errorf("diagnose code: %w", err)
	case why.Used:
		code = "redeem.used"
	case why.Voided:
		code = "redeem.voided"
	case why.Expired:
		code = "redeem.expired"
	case why.Limited:
		code = "redeem.limit"
	default:
		// The batch changed between the lookup and the gate: say the
		// truth next time rather than guess now.
		return Redeemed{}, "", fmt.Errorf("code of batch %d refused for no reason found", b.ID)
	}
	return Redeemed{}, code, nil
}

// clientKey is the address the per-address limit counts under, the login
// limits' rule (account, staff): an IPv4 address alone, an IPv6 address
// with its /64. Counted by the full IPv6 address, one subscriber stepped
// through the 2^64 addresses of its /64, one per guess, and the limit per
// address held nothing. Anything else counts as itself, cut to the
// column's 64 bytes.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		if len(ip) > 64 {
			ip = strings.ToValidUTF8(ip[:64], "")
		}
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}
