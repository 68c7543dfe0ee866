package seal_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/internal/figures"
	"im2pay/ledger"
	"im2pay/seal"
)

// sealedLedger is a small sealed ledger: grants to three wallets, one
// posting rolled back (the gap its id leaves is where an insertion hides),
// every transaction sealed. It returns the gap's id.
func sealedLedger(t *testing.T) (*fixture, int64) {
	f := newFixture(t, 3, seal.Options{})
	for i := range 9 {
		f.grant(fmt.Sprintf("g%d", i), f.wallets[i%3], int64(1000+i))
	}
	var gap int64
	err := f.store.InTx(f.ctx, func(tx *sqlx.Tx) error {
		gap = f.grant("undone", f.wallets[0], 1, ledger.InTx(tx))
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	for i := 9; i < 12; i++ {
		f.grant(fmt.Sprintf("g%d", i), f.wallets[i%3], int64(1000+i))
	}
	f.sealAll()
	if r := f.verify(seal.VerifyOptions{}); !r.OK() || r.Unsealed != 0 || r.Transactions != 12 {
		t.Fatalf("the untouched ledger: %d sealed, %d unsealed, problems %v", r.Transactions, r.Unsealed, r.Problems)
	}
	return f, gap
}

// asSuperuser runs q with every trigger off (no append-only refusal, no
// foreign keys, no balance trigger), as someone with database access would.
func (f *fixture) asSuperuser(args []any, stmts ...string) {
	f.t.Helper()
	tx, err := f.conn.BeginTxx(f.ctx, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(f.ctx, `SET LOCAL session_replication_role = replica`); err != nil {
		f.t.Fatal(err)
	}
	for _, q := range stmts {
		var used []any // only a statement with parameters takes them
		if strings.Contains(q, "$1") {
			used = args
		}
		if _, err := tx.ExecContext(f.ctx, q, used...); err != nil {
			f.t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		f.t.Fatal(err)
	}
}

// The attacker covers their tracks where they can (balances, running
// balances, sums to zero), so the chain alone must catch each change.
var tampers = []struct {
	name string
	want []seal.Kind // exactly these kinds are reported
	sql  []string    // $1 is the gap's id, unless the comment says
}{
	{"an amount changed", []seal.Kind{seal.Changed}, []string{`
		WITH t AS (SELECT max(transaction_id) AS id FROM ledger_entries),
		e AS (UPDATE ledger_entries SET amount = amount + sign(amount) * 100,
		                                balance_after = balance_after + 100
		       WHERE transaction_id = (SELECT id FROM t) RETURNING account_id, balance_after)
		UPDATE accounts a SET balance = e.balance_after FROM e WHERE a.id = e.account_id AND e.balance_after IS NOT NULL`}},
	{"an entry deleted", []seal.Kind{seal.Deleted, seal.Unbalanced}, []string{`
		WITH e AS (DELETE FROM ledger_entries
		            WHERE id = (SELECT max(e.id) FROM ledger_entries e JOIN accounts a ON a.id = e.account_id WHERE a.kind = 'wallet')
		           RETURNING account_id, amount)
		UPDATE accounts a SET balance = balance - e.amount FROM e WHERE a.id = e.account_id`}},
	{"a transaction deleted", []seal.Kind{seal.Deleted}, []string{`
		WITH t AS (DELETE FROM ledger_transactions WHERE id = (SELECT max(id) FROM ledger_transactions) RETURNING id),
		e AS (DELETE FROM ledger_entries WHERE transaction_id = (SELECT id FROM t) RETURNING account_id, amount)
		UPDATE accounts a SET balance = balance - e.amount FROM e WHERE a.id = e.account_id`}},
	{"a transaction inserted", []seal.Kind{seal.Inserted}, []string{`
		WITH t AS (INSERT INTO ledger_transactions (id, idempotency_key, request_hash, kind, reference, description, created_at)
		           SELECT $1::bigint, 'forged', '\x00', 'grant', 'test:forged', 'welcome_grant', created_at
		             FROM ledger_transactions WHERE id = $1::bigint - 1 RETURNING id),
		w AS (SELECT id, balance FROM accounts WHERE kind = 'wallet' ORDER BY id LIMIT 1),
		e AS (INSERT INTO ledger_entries (transaction_id, account_id, amount, balance_after)
		      SELECT t.id, x.account, x.amount, x.after FROM t, w,
		             LATERAL (VALUES ((SELECT id FROM accounts WHERE code = 'grants'), -50000::bigint, NULL::bigint),
		                             (w.id, 50000::bigint, w.balance + 50000)) AS x(account, amount, after)
		      RETURNING account_id, amount)
		UPDATE accounts a SET balance = balance + e.amount FROM e WHERE a.id = e.account_id AND a.kind = 'wallet'`}},
	// $1 and $2 are the first two transactions: negated first (the
	// primary key), then each into the other's place, entries following:
	// every row stays, the order not.
	{"two transactions swapped", []seal.Kind{seal.Reordered}, []string{`UPDATE ledger_transactions SET id = -id WHERE id IN ($1, $2)`,
		`UPDATE ledger_transactions SET id = CASE WHEN id = -$1::bigint THEN $2 ELSE $1 END WHERE id IN (-$1::bigint, -$2::bigint)`,
		`UPDATE ledger_entries SET transaction_id = CASE WHEN transaction_id = $1 THEN $2 ELSE $1 END WHERE transaction_id IN ($1, $2)`}},
}

func TestVerifyCatchesEachTamperingWithTheTriggersDisabled(t *testing.T) {
	for _, tc := range tampers {
		t.Run(tc.name, func(t *testing.T) {
			f, gap := sealedLedger(t)
			args := []any{gap}
			if tc.name == "two transactions swapped" {
				var first []int64
				if err := f.conn.SelectContext(f.ctx, &first, `SELECT id FROM ledger_transactions ORDER BY id LIMIT 2`); err != nil {
					t.Fatal(err)
				}
				args = []any{first[0], first[1]}
			}
			f.asSuperuser(args, tc.sql...)
			r := f.verify(seal.VerifyOptions{})
			var got []seal.Kind
			for _, p := range r.Problems {
				if !slices.Contains(got, p.Kind) {
					got = append(got, p.Kind)
				}
			}
			through := 0
			if !r.Has(tc.want[0]) {
				through = 1
			}
			figures.Record(t, "security", "ledger verify: "+tc.name+" by a superuser with the triggers disabled (not reported)", 1, through)
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("reported %v, want exactly %v: %v", got, want, r.Problems)
			}
		})
	}
}

// Someone who rewrites the rows and then the whole chain over them (seals
// deleted and sealed again) leaves a ledger consistent with itself: only a
// head published before catches it.
func TestAPublishedHeadCatchesARewrittenChain(t *testing.T) {
	f, _ := sealedLedger(t)
	r := f.verify(seal.VerifyOptions{})
	day := r.Days[len(r.Days)-1]
	published := hex.EncodeToString(day.Hash[:])
	if r := f.verify(seal.VerifyOptions{Since: day.Day, Head: published}); !r.OK() {
		t.Fatalf("the untouched ledger against its own head: %v", r.Problems)
	}
	f.asSuperuser(nil, tampers[0].sql...)
	f.asSuperuser(nil, `DELETE FROM ledger_seals`)
	f.sealer = seal.NewSealer(f.conn, seal.Options{Now: func() time.Time { return f.clock }})
	f.sealAll()
	if r := f.verify(seal.VerifyOptions{}); !r.OK() {
		t.Fatalf("a rewritten chain is consistent with itself, yet: %v", r.Problems)
	}
	r = f.verify(seal.VerifyOptions{Since: day.Day, Head: published})
	through := 0
	if !r.Has(seal.HeadDiffer) {
		through = 1
	}
	figures.Record(t, "security", "ledger verify: rows and the whole chain rewritten by a superuser (not caught by the published head)", 1, through)
	if through != 0 || len(r.Problems) != 1 {
		t.Fatalf("against the published head: %v", r.Problems)
	}
}
