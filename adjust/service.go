package adjust

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/audit"
	"im2pay/db"
	"im2pay/ledger"
	"im2pay/wallet"
)

// Options configure the service.
type Options struct {
	Ledger   *ledger.Ledger
	Accounts *account.Service
	Now      func() time.Time // the app's clock; nil: time.Now
	// ApprovalAbove: an adjustment of more than this waits for a second
	// staff member (OPS_APPROVAL_ABOVE); 0: DefaultApprovalAbove.
	ApprovalAbove wallet.Money
}

// Service requests, approves and rejects adjustments.
type Service struct {
	store    *db.Store
	ledger   *ledger.Ledger
	accounts *account.Service
	now      func() time.Time
	above    wallet.Money
}

// NewService returns the adjustments over store.
func NewService(store *db.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ApprovalAbove <= 0 {
		o.ApprovalAbove = DefaultApprovalAbove
	}
	return &Service{store: store, ledger: o.Ledger, accounts: o.Accounts, now: o.Now, above: o.ApprovalAbove}
}

// ApprovalAbove is the amount above which an adjustment waits for approval.
func (s *Service) ApprovalAbove() wallet.Money { return s.above }

// Request records an adjustment asked for by r.StaffID. At or below the
// threshold it is posted at once (state posted); above, it waits (state
// requested) for Approve by someone else. Refusals are *wallet.Problem
// values (joined, one per field) or a *Shortfall (a debit now, which the
// wallet cannot cover). log is the audit line's template (who, when, from
// where); its action, object and values are filled in here and it is
// appended in the same transaction.
func (s *Service) Request(ctx context.Context, r Request, log audit.Entry) (Adjustment, error) {
	c, err := s.check(r, func(name string) (account.User, error) { return s.accounts.UserByNameCached(ctx, name) })
	if err != nil {
		return Adjustment{}, err
	}
	var out Adjustment
	err = s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := db.AdvisoryLock(ctx, tx, db.LockClassAdjustUser, strconv.FormatInt(c.userID, 10)); err != nil {
			return err
		}
		var id int64
		err := tx.GetContext(ctx, &id, `SELECT id FROM adjustments WHERE requested_by = $1 AND request_key = $2`, c.staffID, c.key)
		if err == nil {
			// The same form again: what the first post made, nothing new.
			if out, err = load(ctx, tx, id, false); err != nil {
				return err
			}
			return s.appendLog(ctx, tx, log, "adjustment.request_repeat", out, nil)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("find adjustment by request key: %w", err)
		}
		alone, err := s.postedAlone(ctx, tx, c.userID)
		if err != nil {
			return err
		}
		const insert = `
			INSERT INTO adjustments (user_id, direction, amount, reason, ticket, state, requested_by, requested_at, request_key)
			VALUES ($1, $2, $3, $4, $5, 'requested', $6, $7, $8) RETURNING id`
		if err := tx.GetContext(ctx, &id, insert, c.userID, c.direction, c.amount, c.reason, c.ticket,
			c.staffID, s.now(), c.key); err != nil {
			return fmt.Errorf("insert adjustment for user %d: %w", c.userID, err)
		}
		a, err := load(ctx, tx, id, false)
		if err != nil {
			return err
		}
		action := "adjustment.request"
		if alone+a.Amount <= s.above {
			// Small enough for one pair of eyes: posted now, decided by nobody.
			if a, err = s.post(ctx, tx, a, 0); err != nil {
				return err
			}
			action = "adjustment.post"
		}
		out = a
		return s.appendLog(ctx, tx, log, action, a, nil)
	})
	return out, err
}

// SingleEyedWindow is how far back postedAlone looks.
const SingleEyedWindow = 24 * time.Hour

// postedAlone is what was adjusted in the person's wallet without a second
// pair of eyes over the last SingleEyedWindow, credits and debits alike:
// the threshold bounds that sum, so ten requests of ¥500 cannot do what
// one of ¥5,000 may not. The caller holds the person's adjustment lock.
func (s *Service) postedAlone(ctx context.Context, tx *sqlx.Tx, userID int64) (wallet.Money, error) {
	const q = `
		SELECT coalesce(sum(amount), 0) FROM adjustments
		 WHERE user_id = $1 AND decided_by IS NULL AND state = 'posted' AND requested_at > $2`
	var sum wallet.Money
	if err := tx.GetContext(ctx, &sum, q, userID, s.now().Add(-SingleEyedWindow)); err != nil {
		return 0, fmt.Errorf("adjustments of user %d posted alone: %w", userID, err)
	}
	return sum, nil
}

// Approve posts a requested adjustment as staffID's decision: exactly once,
// however many approve it at once (the others get ErrAlreadyDecided). The
// requester's own approval is ErrOwnRequest (and the database's CHECK
// refuses it too); a debit the wallet no longer covers is a *Shortfall and
// leaves the request waiting.
func (s *Service) Approve(ctx context.Context, id, staffID int64, log audit.Entry) (Adjustment, error) {
	var out Adjustment
	err := s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		before, err := s.decidable(ctx, tx, id, staffID)
		if err != nil {
			return err
		}
		after, err := s.post(ctx, tx, before, staffID)
		if err != nil {
			return err
		}
		out = after
		return s.appendLog(ctx, tx, log, "adjustment.approve", after, &before)
	})
	return out, err
}

// Reject refuses a requested adjustment as staffID's decision; nothing
// moves. The same refusals as Approve apply.
func (s *Service) Reject(ctx context.Context, id, staffID int64, log audit.Entry) (Adjustment, error) {
	var out Adjustment
	err := s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		before, err := s.decidable(ctx, tx, id, staffID)
		if err != nil {
			return err
		}
		const q = `UPDATE adjustments SET state = 'rejected', decided_by = $2, decided_at = $3 WHERE id = $1`
		if _, err := tx.ExecContext(ctx, q, id, staffID, s.now()); err != nil {
			return db.MapError(fmt.Errorf("reject adjustment %d: %w", id, err))
		}
		if out, err = load(ctx, tx, id, false); err != nil {
			return err
		}
		return s.appendLog(ctx, tx, log, "adjustment.reject", out, &before)
	})
	return out, err
}

// decidable locks adjustment id and says whether staffID may decide it.
// The row lock makes concurrent deciders wait for each other, so the
// second finds it decided.
func (s *Service) decidable(ctx context.Context, tx *sqlx.Tx, id, staffID int64) (Adjustment, error) {
	a, err := load(ctx, tx, id, true)
	switch {
	case err != nil:
		return a, err
	case a.State != StateRequested:
		return a, fmt.Errorf("adjustment %d is %s: %w", id, a.State, ErrAlreadyDecided)
	case a.RequestedBy == staffID:
		return a, fmt.Errorf("adjustment %d by staff %d: %w", id, staffID, ErrOwnRequest)
	}
	return a, nil
}

// post moves the money of a (locked, requested) adjustment and marks it
// posted, decided by decider (0: by nobody, under the threshold).
func (s *Service) post(ctx context.Context, tx *sqlx.Tx, a Adjustment, decider int64) (Adjustment, error) {
	system, err := s.ledger.SystemAccountID(ctx, SystemAccount)
	if err != nil {
		return a, err
	}
	walletID, err := s.ledger.WalletOf(ctx, tx, a.UserID)
	if err != nil {
		return a, err
	}
	ref := "adjustment:" + strconv.FormatInt(a.ID, 10)
	p := ledger.Posting{Key: ref, Kind: ledger.Adjustment, Reference: ref,
		// The reason rides in the description, shown as "客服调整：<reason>"
		// (see i18n.Describe).
		Description: "adjustment:" + a.Reason,
		Entries:     []ledger.Entry{{AccountID: system, Amount: -int64(a.Amount)}, {AccountID: walletID, Amount: int64(a.Amount)}}}
	opts := []ledger.Option{ledger.InTx(tx)}
	if a.Direction == Debit {
		p.Entries = []ledger.Entry{{AccountID: walletID, Amount: -int64(a.Amount)}, {AccountID: system, Amount: int64(a.Amount)}}
		opts = append(opts, ledger.Covered(walletID, int64(a.Amount)))
	}
	posted, err := s.ledger.Post(ctx, p, opts...)
	if errors.Is(err, ledger.ErrInsufficientFunds) {
		return a, &Shortfall{Amount: a.Amount, Balance: wallet.Money(posted.Before)}
	}
	if err != nil {
		return a, fmt.Errorf("post adjustment %d: %w", a.ID, err)
	}
	const q = `UPDATE adjustments SET state = 'posted', decided_by = NULLIF($2, 0), decided_at = $3, transaction_id = $4
		WHERE id = $1`
	if _, err := tx.ExecContext(ctx, q, a.ID, decider, s.now(), posted.TransactionID); err != nil {
		return a, db.MapError(fmt.Errorf("mark adjustment %d posted: %w", a.ID, err))
	}
	return load(ctx, tx, a.ID, false)
}

const selectSQL = `
	SELECT a.id, a.user_id, u.username, a.direction, a.amount, a.reason, a.ticket, a.state::text AS state,
	       a.requested_by, st.name AS requester_name, a.requested_at, a.decided_by, a.decided_at, a.transaction_id
	  FROM adjustments a JOIN users u ON u.id = a.user_id JOIN staff st ON st.id = a.requested_by`

// load reads adjustment id through q, locking its row when lock is set.
func load(ctx context.Context, q sqlx.QueryerContext, id int64, lock bool) (Adjustment, error) {
	query := selectSQL + ` WHERE a.id = $1`
	if lock {
		query += ` FOR UPDATE OF a`
	}
	var a Adjustment
	if err := sqlx.GetContext(ctx, q, &a, query, id); err != nil {
		return a, db.NotFound(err, "adjustment %d", id)
	}
	return a, nil
}

// Get returns one adjustment.
func (s *Service) Get(ctx context.Context, id int64) (Adjustment, error) {
	return load(ctx, s.store.DB(), id, false)
}

// Pending lists the adjustments waiting for approval, oldest first.
func (s *Service) Pending(ctx context.Context, limit int) ([]Adjustment, error) {
	var out []Adjustment
	q := selectSQL + ` WHERE a.state = 'requested' ORDER BY a.id LIMIT $1`
	if err := s.store.DB().SelectContext(ctx, &out, q, limit); err != nil {
		return nil, fmt.Errorf("pending adjustments: %w", err)
	}
	return out, nil
}

// OfUser lists a person's adjustments, newest first (the person's page).
func (s *Service) OfUser(ctx context.Context, userID int64, limit int) ([]Adjustment, error) {
	var out []Adjustment
	q := selectSQL + ` WHERE a.user_id = $1 ORDER BY a.id DESC LIMIT $2`
	if err := s.store.DB().SelectContext(ctx, &out, q, userID, limit); err != nil {
		return nil, fmt.Errorf("adjustments of user %d: %w", userID, err)
	}
	return out, nil
}

// appendLog writes the audit line of action on a, from template log.
func (s *Service) appendLog(ctx context.Context, tx *sqlx.Tx, log audit.Entry, action string, a Adjustment, before *Adjustment) error {
	if log.At.IsZero() {
		log.At = s.now()
	}
	log.Action, log.ObjectKind, log.ObjectID = action, "adjustment", strconv.FormatInt(a.ID, 10)
	if before != nil {
		log.Before = *before
	}
	log.After = a
	return audit.Append(ctx, tx, log)
}
