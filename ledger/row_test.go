package ledger_test

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"

	"im2pay/ledger"
)

// A movement's row is written by its posting's query or not at all: a
// closed gate writes nothing, a gate that wrote is undone with a key posted
// before, and a posting in the caller's transaction goes with it.
func TestARowIsWrittenWithItsPostingOrNotAtAll(t *testing.T) {
	f := newFixture(t)
	u := f.user("rows")
	if _, err := f.grant("fund", u.WalletID, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := f.conn.Exec(`CREATE TABLE notes (id bigserial PRIMARY KEY, txn bigint, open boolean NOT NULL DEFAULT true)`); err != nil {
		t.Fatal(err)
	}
	pay := func(key string, amount int64) ledger.Posting {
		return ledger.Posting{Key: key, Kind: ledger.Purchase, Reference: "test", Description: "test",
			Entries: []ledger.Entry{{AccountID: u.WalletID, Amount: -amount}, {AccountID: f.grants, Amount: amount}}}
	}
	notes := func() (n int) {
		t.Helper()
		if err := f.conn.Get(&n, `SELECT count(*) FROM notes WHERE txn IS NOT NULL`); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Written from the posting's transaction, its columns read back.
	var id, txn sql.NullInt64
	posted, err := f.ledger.Post(f.ctx, pay("written", 10), ledger.Covered(u.WalletID, 10), ledger.With(&ledger.Row{
		Write:   `written AS (INSERT INTO notes (txn) SELECT id FROM txn RETURNING id, txn)`,
		Columns: "written.id, written.txn", Dest: []any{&id, &txn},
	}))
	if err != nil || !id.Valid || txn.Int64 != posted.TransactionID || posted.Balances[u.WalletID] != 90 || posted.Before != 100 {
		t.Fatalf("with a row: %+v, row %v/%v, %v; want the row of the posting's transaction and 90 left", posted, id, txn, err)
	}

	// A gate that yields nothing: no posting, no row.
	_, err = f.ledger.Post(f.ctx, pay("gated", 10), ledger.With(&ledger.Row{
		Gate:  `SELECT 1 WHERE $10::boolean`,
		Write: `written AS (INSERT INTO notes (txn) SELECT id FROM txn RETURNING id)`, Columns: "written.id",
		Dest: []any{&id}, Args: []any{false},
	}))
	if !errors.Is(err, ledger.ErrGateClosed) || notes() != 1 || f.balance(u.WalletID) != 90 {
		t.Fatalf("closed gate: %v, %d notes, balance %d; want ErrGateClosed and nothing written", err, notes(), f.balance(u.WalletID))
	}

	// A gate that writes, under a key posted before: the whole query
	// fails, the gate's write with it.
	if _, err := f.conn.Exec(`INSERT INTO notes (open) VALUES (true)`); err != nil {
		t.Fatal(err)
	}
	_, err = f.ledger.Post(f.ctx, pay("written", 10), ledger.With(&ledger.Row{
		Gate: `UPDATE notes SET open = false WHERE open AND txn IS NULL RETURNING id`, NewKey: true,
	}))
	var stillOpen bool
	if gerr := f.conn.Get(&stillOpen, `SELECT open FROM notes WHERE txn IS NULL`); gerr != nil {
		t.Fatal(gerr)
	}
	if !errors.Is(err, ledger.ErrDuplicate) || !stillOpen {
		t.Fatalf("new key taken: %v, gate's row still open %v; want ErrDuplicate and the update undone", err, stillOpen)
	}

	// In the caller's transaction, rolled back: nothing stays.
	err = f.store.InTx(f.ctx, func(tx *sqlx.Tx) error {
		if _, err := f.ledger.Post(f.ctx, pay("in-tx", 10), ledger.InTx(tx), ledger.Covered(u.WalletID, 10)); err != nil {
			return err
		}
		return errors.New("the caller changes its mind")
	})
	if err == nil || f.balance(u.WalletID) != 90 {
		t.Fatalf("rolled back: %v, balance %d; want the posting gone with its transaction", err, f.balance(u.WalletID))
	}
	checkInvariants(t, f)
}
