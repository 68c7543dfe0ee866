package seal

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Kind names a discrepancy verify reports.
type Kind string

// What verify can find.
const (
	Changed    Kind = "changed"    // a sealed transaction or entry differs from what was sealed
	Deleted    Kind = "deleted"    // a sealed transaction or entry is gone
	Inserted   Kind = "inserted"   // a transaction or entry was added among sealed ones
	Reordered  Kind = "reordered"  // the same rows as sealed, in another order
	Unbalanced Kind = "unbalanced" // a transaction's entries do not sum to zero, or are fewer than two
	Orphan     Kind = "orphan"     // an entry of a transaction that does not exist
	Balance    Kind = "balance"    // a wallet's cached balance or an entry's balance_after disagrees with the entries
	BrokenSeal Kind = "seal"       // the seals themselves are not one chain
	HeadDiffer Kind = "head"       // the published head disagrees
)

// Discrepancy is one thing verify found wrong.
type Discrepancy struct {
	Kind Kind
	Text string
}

// DayHead is the chain's head at the end of a day: its last seal.
type DayHead struct {
	Day               string // YYYY-MM-DD in the verifier's location
	N                 int64
	LastTransactionID int64
	Hash              Hash // recomputed from the rows
}

// Report is what Verify found.
type Report struct {
	Seals        int
	Transactions int // sealed transactions recomputed
	Unsealed     int // transactions after the last seal (not yet sealed)
	Days         []DayHead
	Problems     []Discrepancy
	Head         *Head // the last seal recomputed; nil without seals
}

// OK is true when nothing was found wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Has reports whether a discrepancy of kind k was found.
func (r *Report) Has(k Kind) bool {
	for _, p := range r.Problems {
		if p.Kind == k {
			return true
		}
	}
	return false
}

func (r *Report) add(k Kind, format string, args ...any) {
	r.Problems = append(r.Problems, Discrepancy{Kind: k, Text: fmt.Sprintf(format, args...)})
}

// VerifyOptions say what Verify checks beyond the ledger itself.
type VerifyOptions struct {
	Location *time.Location // days are this location's (Beijing); nil: UTC
	// Since and Head: the chain's head at the end of day Since (its last
	// seal) must be Head, as published then. Head empty: no check.
	Since string
	Head  string
}

// Verify recomputes the chain from the ledger's rows and every cached
// balance from the entries, in one read-only snapshot, and reports each
// discrepancy. Each seal is recomputed from the stored hash before it, so
// a change is reported at the seal it broke, not at every later one.
func Verify(ctx context.Context, conn *sqlx.DB, o VerifyOptions) (*Report, error) {
	if o.Location == nil {
		o.Location = time.UTC
	}
	tx, err := conn.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("verify: begin: %w", err)
	}
	defer tx.Rollback()
	r := &Report{}
	seals, err := loadSeals(ctx, tx)
	if err != nil {
		return nil, err
	}
	if err := r.chain(ctx, tx, seals, o.Location); err != nil {
		return nil, err
	}
	if err := r.balances(ctx, tx); err != nil {
		return nil, err
	}
	r.checkHead(o)
	return r, nil
}

type storedSeal struct {
	N                 int64     `db:"n"`
	LastTransactionID int64     `db:"last_transaction_id"`
	Transactions      int       `db:"transactions"`
	Entries           int       `db:"entries"`
	Digest            []byte    `db:"digest"`
	Hash              []byte    `db:"hash"`
	SealedAt          time.Time `db:"sealed_at"`
}

func loadSeals(ctx context.Context, tx *sqlx.Tx) ([]storedSeal, error) {
	var seals []storedSeal
	const q = `SELECT n, last_transaction_id, transactions, entries, digest, hash, sealed_at FROM ledger_seals ORDER BY n`
	if err := tx.SelectContext(ctx, &seals, q); err != nil {
		return nil, fmt.Errorf("verify: load seals: %w", err)
	}
	return seals, nil
}

// rowsSQL streams every transaction with its entries in the chain's order;
// a transaction whose entries are all gone still comes, with NULLs.
const rowsSQL = `
	SELECT t.id, t.kind::text, t.reference, t.description, t.created_at, e.account_id, e.amount
	  FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id
	 ORDER BY t.id, e.id`

// chain recomputes each seal from the rows it covers.
func (r *Report) chain(ctx context.Context, tx *sqlx.Tx, seals []storedSeal, loc *time.Location) error {
	rows, err := tx.QueryContext(ctx, rowsSQL)
	if err != nil {
		return fmt.Errorf("verify: read the ledger: %w", err)
	}
	defer rows.Close()
	next := txnReader(rows)
	var prevStored, recomputed Hash
	var pending *Txn // read but past the seal being checked
	for i, s := range seals {
		r.Seals++
		if s.N != int64(i+1) || (i > 0 && s.LastTransactionID <= seals[i-1].LastTransactionID) {
			r.add(BrokenSeal, "seal %d (transactions to %d) is the %d. seal: the seals are not one chain", s.N, s.LastTransactionID, i+1)
		}
		local, full := NewLink(prevStored), NewLink(recomputed)
		for {
			if pending == nil {
				if pending, err = next(); err != nil {
					return err
				}
			}
			if pending == nil || pending.ID > s.LastTransactionID {
				break
			}
			local.Add(*pending)
			full.Add(*pending)
			r.Transactions++
			r.checkTxn(*pending)
			pending = nil
		}
		r.compare(s, local, seals, i)
		recomputed, _, _, _ = full.Sum()
		copy(prevStored[:], s.Hash)
		r.Head = &Head{N: s.N, LastTransactionID: s.LastTransactionID, Hash: recomputed}
		day := s.SealedAt.In(loc).Format(time.DateOnly)
		if n := len(r.Days); n > 0 && r.Days[n-1].Day == day {
			r.Days = r.Days[:n-1]
		}
		r.Days = append(r.Days, DayHead{Day: day, N: s.N, LastTransactionID: s.LastTransactionID, Hash: recomputed})
	}
	for {
		if pending == nil {
			if pending, err = next(); err != nil {
				return err
			}
		}
		if pending == nil {
			break
		}
		r.Unsealed++
		r.checkTxn(*pending)
		pending = nil
	}
	return rows.Err()
}

// compare reports how seal i's recomputed link differs from the stored one.
func (r *Report) compare(s storedSeal, l *Link, seals []storedSeal, i int) {
	sum, txns, entries, digest := l.Sum()
	if bytes.Equal(sum[:], s.Hash) {
		return
	}
	from := int64(1)
	if i > 0 {
		from = seals[i-1].LastTransactionID + 1
	}
	where := fmt.Sprintf("seal %d (transactions %d to %d)", s.N, from, s.LastTransactionID)
	switch {
	case txns < s.Transactions:
		r.add(Deleted, "%s: %d of its %d transactions are gone", where, s.Transactions-txns, s.Transactions)
	case txns > s.Transactions:
		r.add(Inserted, "%s: %d transactions more than the %d sealed", where, txns-s.Transactions, s.Transactions)
	case entries < s.Entries:
		r.add(Deleted, "%s: %d of its %d entries are gone", where, s.Entries-entries, s.Entries)
	case entries > s.Entries:
		r.add(Inserted, "%s: %d entries more than the %d sealed", where, entries-s.Entries, s.Entries)
	case bytes.Equal(digest[:], s.Digest):
		r.add(Reordered, "%s: the sealed rows are all there, in another order (ids swapped)", where)
	default:
		r.add(Changed, "%s: a transaction or entry differs from what was sealed (amount, account, kind, reference, description or time)", where)
	}
}

// checkTxn reports a transaction the database would never have accepted.
func (r *Report) checkTxn(t Txn) {
	var sum int64
	for _, e := range t.Entries {
		sum += e.Amount
	}
	if len(t.Entries) < 2 || sum != 0 {
		r.add(Unbalanced, "transaction %d has %d entries summing to %d", t.ID, len(t.Entries), sum)
	}
}

// txnReader groups rowsSQL's rows into transactions; nil at the end.
func txnReader(rows *sql.Rows) func() (*Txn, error) {
	var cur *Txn
	done := false
	return func() (*Txn, error) {
		for !done {
			if !rows.Next() {
				done = true
				if err := rows.Err(); err != nil {
					return nil, fmt.Errorf("verify: read the ledger: %w", err)
				}
				break
			}
			var t Txn
			var account, amount sql.NullInt64
			if err := rows.Scan(&t.ID, &t.Kind, &t.Reference, &t.Description, &t.CreatedAt, &account, &amount); err != nil {
				return nil, fmt.Errorf("verify: read the ledger: %w", err)
			}
			var out *Txn
			if cur == nil || cur.ID != t.ID {
				out, cur = cur, &t
			}
			if account.Valid {
				cur.Entries = append(cur.Entries, Entry{AccountID: account.Int64, Amount: amount.Int64})
			}
			if out != nil {
				return out, nil
			}
		}
		out := cur
		cur = nil
		return out, nil
	}
}

// balancesSQL finds what the entries contradict: entries of missing
// transactions, wallets whose cached balance is not the sum of their
// entries, entries whose balance_after is not their wallet's running sum.
const balancesSQL = `
	SELECT 'orphan', e.id, e.transaction_id, 0::bigint
	  FROM ledger_entries e
	 WHERE NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.id = e.transaction_id)
	UNION ALL
	SELECT 'wallet', a.id, a.balance, coalesce(s.total, 0)
	  FROM accounts a
	  LEFT JOIN (SELECT account_id, sum(amount)::bigint AS total FROM ledger_entries GROUP BY account_id) s ON s.account_id = a.id
	 WHERE a.balance IS NOT NULL AND a.balance <> coalesce(s.total, 0)
	UNION ALL
	SELECT 'after', id, balance_after, running
	  FROM (SELECT e.id, e.balance_after,
	               sum(e.amount) OVER (PARTITION BY e.account_id ORDER BY e.id)::bigint AS running
	          FROM ledger_entries e JOIN accounts a ON a.id = e.account_id
	         WHERE a.balance IS NOT NULL) w
	 WHERE balance_after IS DISTINCT FROM running
	 ORDER BY 1, 2`

// balances recomputes the cached balances from the entries.
func (r *Report) balances(ctx context.Context, tx *sqlx.Tx) error {
	rows, err := tx.QueryContext(ctx, balancesSQL)
	if err != nil {
		return fmt.Errorf("verify: balances: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var what string
		var id int64
		var a sql.NullInt64
		var b int64
		if err := rows.Scan(&what, &id, &a, &b); err != nil {
			return fmt.Errorf("verify: balances: %w", err)
		}
		switch what {
		case "orphan":
			r.add(Orphan, "entry %d belongs to transaction %d, which does not exist", id, a.Int64)
		case "wallet":
			r.add(Balance, "wallet %d caches a balance of %d fen; its entries sum to %d", id, a.Int64, b)
		default:
			r.add(Balance, "entry %d records a balance after of %s fen; its wallet's entries sum to %d there", id, nullText(a), b)
		}
	}
	return rows.Err()
}

func nullText(v sql.NullInt64) string {
	if !v.Valid {
		return "NULL"
	}
	return fmt.Sprint(v.Int64)
}

// checkHead compares the chain with a head published at the end of a day.
func (r *Report) checkHead(o VerifyOptions) {
	if o.Head == "" {
		return
	}
	want, err := hex.DecodeString(strings.TrimSpace(o.Head))
	if err != nil || len(want) != len(Hash{}) {
		r.add(HeadDiffer, "the published head %q is not a 64-digit hex SHA-256", o.Head)
		return
	}
	for _, d := range r.Days {
		if d.Day == o.Since {
			if !bytes.Equal(d.Hash[:], want) {
				r.add(HeadDiffer, "the head of %s (seal %d, transactions to %d) is %x, not the published %x",
					d.Day, d.N, d.LastTransactionID, d.Hash, want)
			}
			return
		}
	}
	r.add(HeadDiffer, "no seal was made on %s, whose head was published as %x", o.Since, want)
}
