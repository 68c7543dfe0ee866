package db

import "time"

// HistoryLine is one ledger entry of a wallet, with the transaction behind
// it: the account center's recent lines, and the row the statement package
// scans its history and export into (each keeps its own SQL, but a ledger
// line has one shape).
type HistoryLine struct {
	EntryID      int64     `db:"entry_id"`
	At           time.Time `db:"created_at"`
	Kind         string    `db:"kind"`
	Reference    string    `db:"reference"`
	Description  string    `db:"description"`
	Amount       int64     `db:"amount"`
	BalanceAfter int64     `db:"balance_after"`
}
