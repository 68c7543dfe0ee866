package redeem

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"im2pay/audit"
	"im2pay/db"
	"im2pay/wallet"
)

// MaxAmount is the most a code may be worth (the table's CHECK): ¥1,000,000.00.
const MaxAmount wallet.Money = 1_000_000_00

// Bounds of a batch, as the table's CHECKs have them.
const (
	MinCount     = 1
	MaxCount     = 10_000
	MinPerPerson = 1
	MaxPerPerson = 10_000
	MaxNote      = 200
)

// BatchRequest is a batch as the console's form sends it, unparsed.
type BatchRequest struct {
	Amount    string // yuan, as typed
	Count     string
	PerPerson string
	Expires   string // a date, 2006-01-02: the codes work until that day ends in loc
	Note      string
	StaffID   int64
	// Key is the form's request key (16 to 64 of A-Z a-z 0-9 - _), made
	// when the form was rendered: a second post of the same form by the
	// same staff member finds the batch the first made (ErrRepeated).
	Key string
}

// Batch is a batch as stored, with how many of its codes were redeemed.
type Batch struct {
	ID          int64        `db:"id"`
	Amount      wallet.Money `db:"amount"`
	Count       int          `db:"code_count"`
	PerPerson   int          `db:"per_person"`
	ExpiresAt   time.Time    `db:"expires_at"`
	Note        string       `db:"note"`
	AccountID   int64        `db:"account_id"`
	CreatedBy   int64        `db:"created_by"`
	CreatorName string       `db:"creator_name"`
	CreatedAt   time.Time    `db:"created_at"`
	VoidedAt    *time.Time   `db:"voided_at"`
	Redeemed    int          `db:"redeemed"`
}

// Created is a new batch and its codes, formatted for reading. The codes
// are nowhere else: show them, export them (WriteCSV), forget them.
type Created struct {
	Batch Batch
	Codes []string
}

// ErrAlreadyVoided: the batch was voided before.
var ErrAlreadyVoided = errors.New("redeem: batch already voided")

// ErrRepeated: the staff member's request key already made a batch, which
// CreateBatch returns without its codes (they were shown once, to the
// first post) and without making anything.
var ErrRepeated = errors.New("redeem: batch already created with this request key")

// Bounds of a request key, as the table's CHECK has them.
const (
	MinKey = 16
	MaxKey = 64
)

// AccountCode is the code of batch id's system account.
func AccountCode(batchID int64) string { return "redeem:batch:" + strconv.FormatInt(batchID, 10) }

// CreateBatch makes a batch of random codes for staff r.StaffID, with its
// system account, and appends log (filled in here) in the same
// transaction. Refusals are *wallet.Problem values, joined.
//
// r.Key makes it idempotent per staff member: a key that already made a
// batch returns that batch (its Codes nil) with ErrRepeated, whatever the
// rest of r says, and creates nothing. Two posts of one key at once make
// one batch: the loser's INSERT waits for the winner's and then finds it.
func (s *Service) CreateBatch(ctx context.Context, r BatchRequest, loc *time.Location, log audit.Entry) (Created, error) {
	keyOK := validKey(r.Key)
	if keyOK {
		// A repeat is answered before anything is checked or made, so a
		// reload after the expiry date passed still finds its batch, and
		// no system account is made for it.
		if prev, found, err := s.batchByKey(ctx, s.store.DB(), r.StaffID, r.Key); err != nil || found {
			return Created{Batch: prev}, repeated(prev, found, err)
		}
	}
	b, err := s.checkBatch(r, loc)
	if !keyOK {
		err = errors.Join(wallet.NewProblem("", "redeem.batch.key_invalid"), err)
	}
	if err != nil {
		return Created{}, err
	}
	codes := make([]string, b.Count)
	hashes := make([][]byte, b.Count)
	for i := range codes {
		if codes[i], err = newCode(); err != nil {
			return Created{}, err
		}
		hashes[i] = hash(codes[i])
	}
	// The account is made first, under the batch's id to be: an account
	// whose batch then fails to commit (or loses a race of one request
	// key) stays empty and harmless.
	if err := s.store.DB().GetContext(ctx, &b.ID, `SELECT nextval('redeem_batches_id_seq')`); err != nil {
		return Created{}, fmt.Errorf("new batch id: %w", err)
	}
	if b.AccountID, err = s.ledger.EnsureSystemAccount(ctx, AccountCode(b.ID)); err != nil {
		return Created{}, err
	}
	var prev Batch
	var lost bool
	err = s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		lost = false // InTx may run this again
		// ON CONFLICT waits for a concurrent post of the same key to
		// commit; a query after it (a new snapshot) then reads its batch.
		const insert = `
			INSERT INTO redeem_batches (id, amount, code_count, per_person, expires_at, note, account_id, created_by, created_at, request_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (created_by, request_key) DO NOTHING`
		res, err := tx.ExecContext(ctx, insert, b.ID, b.Amount, b.Count, b.PerPerson, b.ExpiresAt, b.Note,
			b.AccountID, r.StaffID, s.now(), r.Key)
		if err != nil {
			return fmt.Errorf("insert batch %d: %w", b.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("insert batch %d: %w", b.ID, err)
		} else if n == 0 {
			var found bool
			prev, found, err = s.batchByKey(ctx, tx, r.StaffID, r.Key)
			if err == nil && !found {
				err = fmt.Errorf("batch of staff %d's request key: conflict without a batch", r.StaffID)
			}
			lost = true
			return err
		}
		const codesSQL = `INSERT INTO redeem_codes (batch_id, code_hash) SELECT $1, unnest($2::bytea[])`
		if _, err := tx.ExecContext(ctx, codesSQL, b.ID, pq.ByteaArray(hashes)); err != nil {
			return db.MapError(fmt.Errorf("insert codes of batch %d: %w", b.ID, err))
		}
		stored, err := batchByID(ctx, tx, b.ID)
		if err != nil {
			return err
		}
		b = stored
		return s.appendLog(ctx, tx, log, "redeem.batch_create", b, nil)
	})
	if err != nil {
		return Created{}, err
	}
	if lost {
		return Created{Batch: prev}, repeated(prev, true, nil)
	}
	for i, c := range codes {
		codes[i] = Format(c)
	}
	return Created{Batch: b, Codes: codes}, nil
}

// repeated is CreateBatch's error for a lookup of a request key.
func repeated(prev Batch, found bool, err error) error {
	switch {
	case err != nil:
		return err
	case found:
		return fmt.Errorf("batch %d: %w", prev.ID, ErrRepeated)
	}
	return nil
}

// validKey: 16 to 64 characters of the URL-safe base64 alphabet, as the
// form makes them; anything else is a form not made by the console.
func validKey(k string) bool {
	if len(k) < MinKey || len(k) > MaxKey {
		return false
	}
	for _, c := range []byte(k) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// batchByKey is the batch staff member staffID made with request key, if any.
func (s *Service) batchByKey(ctx context.Context, q sqlx.QueryerContext, staffID int64, key string) (Batch, bool, error) {
	var b Batch
	err := sqlx.GetContext(ctx, q, &b, batchSQL+` WHERE b.created_by = $1 AND b.request_key = $2`, staffID, key)
	if errors.Is(err, sql.ErrNoRows) {
		return Batch{}, false, nil
	}
	if err != nil {
		return Batch{}, false, fmt.Errorf("batch of staff %d's request key: %w", staffID, err)
	}
	return b, true, nil
}

// Void withdraws a batch: none of its unredeemed codes can be redeemed any
// more (those redeemed stay so). log is appended in the same transaction.
func (s *Service) Void(ctx context.Context, batchID, staffID int64, log audit.Entry) (Batch, error) {
	var out Batch
	err := s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		before, err := batchByID(ctx, tx, batchID)
		if err != nil {
			return err
		}
		const q = `UPDATE redeem_batches SET voided_at = $3, voided_by = $2 WHERE id = $1 AND voided_at IS NULL`
		res, err := tx.ExecContext(ctx, q, batchID, staffID, s.now())
		if err != nil {
			return fmt.Errorf("void batch %d: %w", batchID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("void batch %d: %w", batchID, ErrAlreadyVoided)
		}
		if out, err = batchByID(ctx, tx, batchID); err != nil {
			return err
		}
		return s.appendLog(ctx, tx, log, "redeem.batch_void", out, &before)
	})
	return out, err
}

const batchSQL = `
	SELECT b.id, b.amount, b.code_count, b.per_person, b.expires_at, b.note, b.account_id, b.created_by,
	       st.name AS creator_name, b.created_at, b.voided_at,
	       (SELECT count(*) FROM redeem_codes c WHERE c.batch_id = b.id AND c.redeemed_by IS NOT NULL) AS redeemed
	  FROM redeem_batches b JOIN staff st ON st.id = b.created_by`

func batchByID(ctx context.Context, q sqlx.QueryerContext, id int64) (Batch, error) {
	var b Batch
	if err := sqlx.GetContext(ctx, q, &b, batchSQL+` WHERE b.id = $1`, id); err != nil {
		return b, db.NotFound(err, "redeem batch %d", id)
	}
	return b, nil
}

// Batch returns one batch.
func (s *Service) Batch(ctx context.Context, id int64) (Batch, error) {
	return batchByID(ctx, s.store.DB(), id)
}

// Batches lists the newest batches first.
func (s *Service) Batches(ctx context.Context, limit int) ([]Batch, error) {
	var out []Batch
	if err := s.store.DB().SelectContext(ctx, &out, batchSQL+` ORDER BY b.id DESC LIMIT $1`, limit); err != nil {
		return nil, fmt.Errorf("redeem batches: %w", err)
	}
	return out, nil
}

// WriteCSV writes a new batch's codes for distribution: one line per code
// with its amount in yuan and its expiry (RFC 3339).
func WriteCSV(w io.Writer, c Created) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"code", "amount_yuan", "expires_at", "batch"})
	for _, code := range c.Codes {
		_ = cw.Write([]string{code, c.Batch.Amount.Yuan(), c.Batch.ExpiresAt.Format(time.RFC3339),
			strconv.FormatInt(c.Batch.ID, 10)})
	}
	cw.Flush()
	return cw.Error()
}

// checkBatch validates every field, reporting every problem at once.
func (s *Service) checkBatch(r BatchRequest, loc *time.Location) (Batch, error) {
	var b Batch
	var problems []error
	if m, err := wallet.ParseMoney(r.Amount); err != nil {
		problems = append(problems, err)
	} else if m == 0 {
		problems = append(problems, wallet.NewProblem("amount", "redeem.batch.amount_zero"))
	} else if m > MaxAmount {
		problems = append(problems, wallet.NewProblem("amount", "redeem.batch.amount_too_large", MaxAmount))
	} else {
		b.Amount = m
	}
	if n, err := strconv.Atoi(strings.TrimSpace(r.Count)); err != nil || n < MinCount || n > MaxCount {
		problems = append(problems, wallet.NewProblem("count", "redeem.batch.count_range", MinCount, MaxCount))
	} else {
		b.Count = n
	}
	if n, err := strconv.Atoi(strings.TrimSpace(r.PerPerson)); err != nil || n < MinPerPerson || n > MaxPerPerson {
		problems = append(problems, wallet.NewProblem("per_person", "redeem.batch.per_person_range", MinPerPerson, MaxPerPerson))
	} else {
		b.PerPerson = n
	}
	if day, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(r.Expires), loc); err != nil || day.Year() > 9999 {
		problems = append(problems, wallet.NewProblem("expires", "redeem.batch.expires_invalid"))
	} else if b.ExpiresAt = day.AddDate(0, 0, 1); !b.ExpiresAt.After(s.now()) {
		problems = append(problems, wallet.NewProblem("expires", "redeem.batch.expires_past"))
	}
	b.Note = strings.TrimSpace(r.Note)
	if !utf8.ValidString(b.Note) || strings.ContainsFunc(b.Note, unicode.IsControl) || utf8.RuneCountInString(b.Note) > MaxNote {
		problems = append(problems, wallet.NewProblem("note", "redeem.batch.note_invalid", MaxNote))
	}
	return b, errors.Join(problems...)
}

// appendLog writes the audit line of action on b, from template log.
func (s *Service) appendLog(ctx context.Context, tx *sqlx.Tx, log audit.Entry, action string, b Batch, before *Batch) error {
	if log.At.IsZero() {
		log.At = s.now()
	}
	log.Action, log.ObjectKind, log.ObjectID = action, "redeem_batch", strconv.FormatInt(b.ID, 10)
	if before != nil {
		log.Before = *before
	}
	log.After = b
	return audit.Append(ctx, tx, log)
}
