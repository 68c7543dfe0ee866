package redeem

import (
	"context"
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

// AccountCode is the code of batch id's system account.
func AccountCode(batchID int64) string { return "redeem:batch:" + strconv.FormatInt(batchID, 10) }

// CreateBatch makes a batch of random codes for staff r.StaffID, with its
// system account, and appends log (filled in here) in the same
// transaction. Refusals are *wallet.Problem values, joined.
func (s *Service) CreateBatch(ctx context.Context, r BatchRequest, loc *time.Location, log audit.Entry) (Created, error) {
	b, err := s.checkBatch(r, loc)
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
	// whose batch then fails to commit stays empty and harmless.
	if err := s.store.DB().GetContext(ctx, &b.ID, `SELECT nextval('redeem_batches_id_seq')`); err != nil {
		return Created{}, fmt.Errorf("new batch id: %w", err)
	}
	if b.AccountID, err = s.ledger.EnsureSystemAccount(ctx, AccountCode(b.ID)); err != nil {
		return Created{}, err
	}
	err = s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		const insert = `
			INSERT INTO redeem_batches (id, amount, code_count, per_person, expires_at, note, account_id, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
		if _, err := tx.ExecContext(ctx, insert, b.ID, b.Amount, b.Count, b.PerPerson, b.ExpiresAt, b.Note,
			b.AccountID, r.StaffID, s.now()); err != nil {
			return fmt.Errorf("insert batch %d: %w", b.ID, err)
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
	for i, c := range codes {
		codes[i] = Format(c)
	}
	return Created{Batch: b, Codes: codes}, nil
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
