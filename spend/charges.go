package spend

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/ledger"
	"im2pay/limits"
	"im2pay/wallet"
)

// ChargeReasons lists what the IM backend may charge for, per use. Each has
// a history description "desc.charge_<reason>" in the locale catalog.
var ChargeReasons = []string{"priority_message", "message_recall", "voice_to_text", "translation", "large_file"}

// MaxCharge caps one per-use charge: these are small amounts, and a larger
// one is a bug in the caller that must not empty a wallet.
const MaxCharge wallet.Money = 100_00

// MaxChargeKeyLen bounds an idempotency key of the service API.
const MaxChargeKeyLen = 128

// chargeRevenue is the system account charges are paid into.
const chargeRevenue = "revenue:charges"

// ErrUnknownUser refuses a charge or a balance query for a user who does not exist.
var ErrUnknownUser = errors.New("spend: unknown user")

// errChargeRaced means another request with the same key recorded its
// answer first: the transaction is rolled back and that answer given.
var errChargeRaced = errors.New("spend: charge key answered concurrently")

// ChargeRequest is what the IM backend asks: take Amount from User's wallet
// for Reason, once per Key.
type ChargeRequest struct {
	User   string
	Amount wallet.Money
	Reason string
	Key    string
}

// Charge is the answer to a ChargeRequest: money moved (Charged) or the
// balance was too low (Shortfall > 0). Replayed marks an answer given
// before, now repeated unchanged.
type Charge struct {
	ID        int64
	User      string // the username as registered
	Amount    wallet.Money
	Reason    string
	Charged   bool
	Balance   wallet.Money // after the charge, or the balance that was too low
	Shortfall wallet.Money
	CreatedAt time.Time
	Replayed  bool
}

// Validate checks the request's fields; errors are *wallet.Problem naming the API's
// field. Codes: api.user_invalid, api.amount_range (MaxCharge in fen, %d),
// api.reason_unknown, api.key_invalid (MaxChargeKeyLen, %d).
func (r ChargeRequest) Validate() error {
	switch {
	case r.User == "" || len(r.User) > 64:
		return wallet.NewProblem("user", "api.user_invalid")
	case r.Amount <= 0 || r.Amount > MaxCharge:
		return wallet.NewProblem("amount_fen", "api.amount_range", int64(MaxCharge))
	case !slices.Contains(ChargeReasons, r.Reason):
		return wallet.NewProblem("reason", "api.reason_unknown")
	case !validChargeKey(r.Key):
		return wallet.NewProblem("idempotency_key", "api.key_invalid", MaxChargeKeyLen)
	}
	return nil
}

// validChargeKey accepts 1–128 visible ASCII characters: keys end up in logs
// and in the ledger's own key, where nothing invisible belongs.
func validChargeKey(k string) bool {
	if k == "" || len(k) > MaxChargeKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// hash fingerprints the whole request, so a key sent again with anything
// different (another user spelling included) is told apart from a retry.
func (r ChargeRequest) hash() []byte {
	h := sha256.New()
	for _, s := range []string{r.User, r.Reason, r.Key} {
		binary.Write(h, binary.BigEndian, int64(len(s)))
		h.Write([]byte(s))
	}
	binary.Write(h, binary.BigEndian, int64(r.Amount))
	return h.Sum(nil)
}

// ChargeUser performs a per-use charge once per key. A repeated key gets the
// first answer again, whatever it was (an insufficient balance included,
// as with Stripe: the caller retries with a new key after a top-up); the
// same key with another request is db.ErrIdempotencyMismatch. The debit and
// the recorded answer are one transaction. Refusals: *wallet.Problem for a bad
// field, ErrUnknownUser.
//
// A new key, the common case, costs one query (chargeNow, one ledger.Post):
// the posting and its answer. Nothing is read first. The unique keys decide
// every repeat instead: a key that moved money makes the posting replay,
// and a key answered "insufficient funds" makes the answer's insert fail
// the query; either way nothing is written and the first answer is
// given, so money moves at most once.
func (s *Service) ChargeUser(ctx context.Context, r ChargeRequest) (Charge, error) {
	if err := r.Validate(); err != nil {
		return Charge{}, err
	}
	hash := r.hash()
	u, err := s.accounts.UserByNameCached(ctx, r.User)
	if errors.Is(err, db.ErrNotFound) {
		// A key used before was for a known user, and so for another request.
		if first, err := s.firstCharge(ctx, r.Key, hash); !errors.Is(err, db.ErrNotFound) {
			return first, err
		}
		return Charge{}, fmt.Errorf("charge %q: %w", r.Key, ErrUnknownUser)
	}
	if err != nil {
		return Charge{}, err
	}
	revenue, err := s.SystemAccount(ctx, chargeRevenue)
	if err != nil {
		return Charge{}, err
	}
	row := APICharge{Key: r.Key, RequestHash: hash, UserID: u.ID, Username: u.Username,
		Amount: int64(r.Amount), Reason: r.Reason}
	err = s.chargeNow(ctx, &row, chargePosting(u.WalletID, revenue, &row), u.WalletID)
	protected := errors.Is(err, ledger.ErrGateClosed)
	if protected {
		// The person set caps: nothing was written, and the transaction
		// below holds the charge against them. A key answered before gets
		// its first answer, whatever the caps say now.
		if first, ferr := s.firstCharge(ctx, r.Key, hash); !errors.Is(ferr, db.ErrNotFound) {
			return first, ferr
		}
	}
	if protected || errors.Is(err, ledger.ErrInsufficientFunds) {
		// Nothing was written: record the refusal with the balance that was
		// too low (or find that a twin answered the key meanwhile).
		err = s.store.InTx(ctx, func(tx *sqlx.Tx) error { return s.chargeTx(ctx, tx, u, revenue, &row) })
	}
	var refused *limits.Refused
	if errors.As(err, &refused) {
		// A twin may have charged the key and reached the cap with it.
		if first, ferr := s.firstCharge(ctx, r.Key, hash); !errors.Is(ferr, db.ErrNotFound) {
			return first, ferr
		}
		return Charge{}, fmt.Errorf("charge %q: %w", r.Key, err)
	}
	if errors.Is(err, errChargeRaced) || errors.Is(err, db.ErrIdempotencyMismatch) {
		// The key was answered before, or by a twin (with this request or
		// another one).
		return s.firstCharge(ctx, r.Key, hash)
	}
	if err != nil {
		return Charge{}, fmt.Errorf("charge %q: %w", r.Key, err)
	}
	return toCharge(row, false), nil
}

// chargeAnswerSQL records a charge's answer in its posting's query
// (see ledger.Row), from the posting's transaction: no posting (a short
// balance, a key posted before), no answer. An answer already recorded
// under the key (an earlier "insufficient funds") fails the whole
// query on api_charges' unique key, the posting with it. $8 is the
// wallet and $9 the amount it must hold (the posting's); $10 the API key,
// $11 the request hash, $12 the user, $13 the reason.
const chargeAnswerSQL = `written AS (
		INSERT INTO api_charges (idempotency_key, request_hash, user_id, amount, reason, outcome,
		                         transaction_id, balance, shortfall)
		SELECT $10, $11, $12, $9, $13, 'charged', txn.id,
		       (SELECT e.balance_after FROM entries e WHERE e.account_id = $8), 0
		  FROM txn
		RETURNING id, created_at)`

// chargeNow debits row's amount from wallet and records row as the key's
// answer, in one query of its own: one exchange and one commit. It
// fills row's ID, CreatedAt, Outcome, TransactionID and Balance. A short
// balance is ErrInsufficientFunds with nothing written (the caller records
// the refusal); a key answered before, or posted before, is errChargeRaced;
// a protected payer is ledger.ErrGateClosed with nothing written.
func (s *Service) chargeNow(ctx context.Context, row *APICharge, p ledger.Posting, wallet int64) error {
	var id sql.NullInt64
	var at sql.NullTime
	posted, err := s.ledger.Post(ctx, p, ledger.Covered(wallet, row.Amount), ledger.With(&ledger.Row{
		Gate: limits.UnprotectedGate, Write: chargeAnswerSQL, Columns: "written.id, written.created_at", Dest: []any{&id, &at},
		Args: []any{row.Key, row.RequestHash, row.UserID, row.Reason},
	}))
	switch {
	case errors.Is(err, ledger.ErrDuplicate):
		return fmt.Errorf("charge %q: %w", row.Key, errChargeRaced)
	case err != nil:
		return err
	case posted.Replayed:
		// Money enough, but no posting: the ledger key was there already.
		return fmt.Errorf("charge %q: %w", row.Key, errChargeRaced)
	}
	row.ID, row.CreatedAt, row.Outcome = id.Int64, at.Time, ChargeCharged
	row.Balance, row.TransactionID = posted.Balances[wallet], sql.NullInt64{Int64: posted.TransactionID, Valid: true}
	return nil
}

// chargePosting is the ledger posting of a charge. Its key is the API key
// itself: keys are global to the backend, and the ledger's unique key then
// backs the API's.
func chargePosting(walletID, revenue int64, row *APICharge) ledger.Posting {
	return ledger.Posting{Key: "charge:" + row.Key, Kind: ledger.Charge, Reference: "api_charge:" + row.Key,
		Description: "charge_" + row.Reason,
		Entries:     []ledger.Entry{{AccountID: walletID, Amount: -row.Amount}, {AccountID: revenue, Amount: row.Amount}}}
}

// chargeTx debits the wallet or records that its balance was too low: either
// answer is written in this one transaction. DebitTx locks the wallet first,
// so a twin request queues there and then meets the first one's key.
func (s *Service) chargeTx(ctx context.Context, tx *sqlx.Tx, u account.User, revenue int64, row *APICharge) error {
	p := chargePosting(u.WalletID, revenue, row)
	posted, err := s.DebitTx(ctx, tx, Debit{UserID: u.ID, Amount: wallet.Money(row.Amount), To: revenue,
		Key: p.Key, Kind: p.Kind, Reference: p.Reference, Description: p.Description})
	var short *Shortfall
	switch {
	case errors.As(err, &short):
		row.Outcome, row.Balance, row.Shortfall = ChargeInsufficient, int64(short.Balance), int64(short.Missing())
	case err != nil:
		return err
	case posted.Replayed:
		return errChargeRaced
	default:
		row.Outcome = ChargeCharged
		row.TransactionID.Int64, row.TransactionID.Valid = posted.TransactionID, true
		row.Balance = posted.Balances[u.WalletID]
	}
	// A twin request that got here first holds this key: we wait for it,
	// then roll back whatever we did and give its answer.
	created, err := insertAPICharge(ctx, tx, row)
	if err == nil && !created {
		return errChargeRaced
	}
	return err
}

// firstCharge is the answer already given to key: replayed when the request
// is the same, db.ErrIdempotencyMismatch when it is not, db.ErrNotFound
// when the key is new.
func (s *Service) firstCharge(ctx context.Context, key string, hash []byte) (Charge, error) {
	row, err := s.apiChargeByKey(ctx, key)
	if err != nil {
		return Charge{}, err
	}
	if string(row.RequestHash) != string(hash) {
		return Charge{}, fmt.Errorf("charge %q: %w", key, db.ErrIdempotencyMismatch)
	}
	return toCharge(row, true), nil
}

func toCharge(row APICharge, replayed bool) Charge {
	return Charge{ID: row.ID, User: row.Username, Amount: wallet.Money(row.Amount), Reason: row.Reason,
		Charged: row.Outcome == ChargeCharged, Balance: wallet.Money(row.Balance), Shortfall: wallet.Money(row.Shortfall),
		CreatedAt: row.CreatedAt, Replayed: replayed}
}

// BalanceOf answers a user's balance by name, for the service API.
func (s *Service) BalanceOf(ctx context.Context, username string) (account.User, wallet.Money, error) {
	u, err := s.accounts.UserByName(ctx, username)
	if errors.Is(err, db.ErrNotFound) {
		return account.User{}, 0, fmt.Errorf("balance of %q: %w", username, ErrUnknownUser)
	}
	if err != nil {
		return account.User{}, 0, err
	}
	bal, err := s.ledger.Balance(ctx, u.WalletID)
	if err != nil {
		return account.User{}, 0, err
	}
	return u, wallet.Money(bal), nil
}
