package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// ChargeOutcome is what a per-use charge decided; it matches the
// charge_outcome enum.
type ChargeOutcome string

// Charge outcomes.
const (
	ChargeCharged      ChargeOutcome = "charged"
	ChargeInsufficient ChargeOutcome = "insufficient_funds"
)

// APICharge is one idempotency key of the service API with the first answer
// it received.
type APICharge struct {
	ID            int64         `db:"id"`
	Key           string        `db:"idempotency_key"`
	RequestHash   []byte        `db:"request_hash"`
	UserID        int64         `db:"user_id"`
	Username      string        `db:"username"` // read only, from users
	Amount        int64         `db:"amount"`
	Reason        string        `db:"reason"`
	Outcome       ChargeOutcome `db:"outcome"`
	TransactionID sql.NullInt64 `db:"transaction_id"`
	Balance       int64         `db:"balance"`
	Shortfall     int64         `db:"shortfall"`
	CreatedAt     time.Time     `db:"created_at"`
}

// APIChargeByKey finds the answer first given to key.
func (s *Store) APIChargeByKey(ctx context.Context, key string) (APICharge, error) {
	const q = `
		SELECT c.id, c.idempotency_key, c.request_hash, c.user_id, u.username, c.amount, c.reason,
		       c.outcome, c.transaction_id, c.balance, c.shortfall, c.created_at
		  FROM api_charges c JOIN users u ON u.id = c.user_id
		 WHERE c.idempotency_key = $1`
	var c APICharge
	err := s.db.GetContext(ctx, &c, q, key)
	return c, NotFound(err, "api charge %q", key)
}

// ErrChargeKeyUsed means a charge's key was answered before (or by a twin,
// which was waited for): nothing was written, and the first answer is the
// one to give.
var ErrChargeKeyUsed = errors.New("db: charge key answered before")

// chargeSQL is a successful charge in one statement: debitSQL's posting,
// then the answer row, from the posting's transaction. When the posting
// does not happen (a short balance, a key posted before) there is no
// answer row either. An answer already recorded under the key (an earlier
// "insufficient funds") fails the whole statement on api_charges' unique
// key, the posting with it. Parameters: debitSQL's, then $10 the API key,
// $11 the request hash, $12 the user, $13 the reason.
var chargeSQL = debitCTEs + `,
	answer AS (
		INSERT INTO api_charges (idempotency_key, request_hash, user_id, amount, reason, outcome,
		                         transaction_id, balance, shortfall)
		SELECT $10, $11, $12, $9, $13, 'charged', txn.id,
		       (SELECT e.balance_after FROM entries e WHERE e.account_id = $8), 0
		  FROM txn
		RETURNING id, created_at, balance, transaction_id)
	SELECT payer.balance, a.id, a.created_at, a.balance AS after, a.transaction_id
	  FROM payer LEFT JOIN answer a ON true`

// ChargeNow debits c's amount from wallet into the posting's other account
// and records c as the key's answer, in one statement of its own: one
// exchange and one commit. It fills c's ID, CreatedAt, Outcome,
// TransactionID and Balance. A short balance is ErrInsufficientFunds with nothing written
// (balance is what the wallet held), and the caller records the refusal;
// a key answered before is ErrChargeKeyUsed. A deadlock is retried.
func (s *Store) ChargeNow(ctx context.Context, c *APICharge, p Posting, wallet int64) (balance int64, err error) {
	if err := p.validate(); err != nil {
		return 0, err
	}
	st, err := s.Prepared(ctx, chargeSQL)
	if err != nil {
		return 0, fmt.Errorf("charge %q: %w", c.Key, err)
	}
	ids, amounts := p.columns()
	var (
		id, after, txn sql.NullInt64
		at             sql.NullTime
	)
	start := time.Now()
	defer func() { s.posted(p.Kind, start, err == nil && txn.Valid) }()
	for attempt := 1; ; attempt++ {
		err = st.QueryRowxContext(ctx, p.Key, p.requestHash(), p.Kind, p.Reference, p.Description,
			pq.Array(ids), pq.Array(amounts), wallet, c.Amount, c.Key, c.RequestHash, c.UserID, c.Reason).
			Scan(&balance, &id, &at, &after, &txn)
		if !Retryable(err) || attempt == maxTxAttempts {
			break
		}
		if berr := backoff(ctx, attempt); berr != nil {
			return 0, errors.Join(err, berr)
		}
	}
	err = MapError(err)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("charge %q: wallet %d: %w", c.Key, wallet, ErrNotFound)
	case errors.Is(err, ErrDuplicate):
		return 0, fmt.Errorf("charge %q: %w", c.Key, ErrChargeKeyUsed)
	case err != nil:
		return 0, fmt.Errorf("charge %q: %w", c.Key, err)
	case balance < c.Amount:
		return balance, fmt.Errorf("charge %q: wallet %d holds %d of %d: %w", c.Key, wallet, balance, c.Amount,
			ErrInsufficientFunds)
	case !id.Valid:
		// Money enough, but no posting: the ledger key was there already.
		return balance, fmt.Errorf("charge %q: %w", c.Key, ErrChargeKeyUsed)
	}
	c.ID, c.CreatedAt, c.Outcome, c.Balance, c.TransactionID = id.Int64, at.Time, ChargeCharged, after.Int64, txn
	return balance, nil
}

const insertAPIChargeSQL = `
	INSERT INTO api_charges (idempotency_key, request_hash, user_id, amount, reason,
	                         outcome, transaction_id, balance, shortfall)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
	ON CONFLICT (idempotency_key) DO NOTHING
	RETURNING id, created_at`

// InsertAPICharge records c's answer inside the transaction that made it and
// fills its ID and CreatedAt. When another transaction recorded the key
// first, it waits for that one to end and reports created = false; the
// caller must then roll back and give that first answer instead.
func (s *Store) InsertAPICharge(ctx context.Context, tx *sqlx.Tx, c *APICharge) (created bool, err error) {
	row := tx.QueryRowxContext(ctx, insertAPIChargeSQL, c.Key, c.RequestHash, c.UserID, c.Amount, c.Reason, c.Outcome,
		c.TransactionID, c.Balance, c.Shortfall)
	err = row.Scan(&c.ID, &c.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, MapError(fmt.Errorf("record api charge %q: %w", c.Key, err))
	}
	return true, nil
}
