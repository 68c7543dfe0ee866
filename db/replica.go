package db

import "github.com/jmoiron/sqlx"

// NewWithReplica is New with a second pool on a streaming replica of the
// primary. The reads that may trail the primary by the replica's lag go
// there: a wallet's history, its statement export and its monthly summary,
// which are long scans over the ledger and the bulk of what the primary
// would otherwise read for nobody's money. Everything that decides or shows
// the outcome of a write (postings, orders, the result page, the account
// center's balance right after a top-up, sessions, throttles) stays on the
// primary, so a person never sees a top-up undone by lag. A nil replica is
// New.
func NewWithReplica(primary, replica *sqlx.DB) *Store {
	return &Store{db: primary, replica: replica}
}

// Replica exposes the replica's pool (nil when there is none) for metrics
// and tests.
func (s *Store) Replica() *sqlx.DB { return s.replica }

// Reader is the pool for the reads that may trail the primary.
func (s *Store) Reader() *sqlx.DB {
	if s.replica != nil {
		return s.replica
	}
	return s.db
}
