// Package statement is the account statement of a wallet: its history
// (余额明细, filtered and paged by keyset), the CSV export and the monthly
// summary. It only reads the ledger, from the replica when there is one,
// and keeps its own SQL beside the methods that run it.
package statement

import (
	"time"

	"im2pay/db"
)

// Service reads the statements of wallets.
type Service struct {
	store *db.Store
	// loc is the zone the filters' dates are typed in.
	loc *time.Location
	// now decides which twelve months the summary covers.
	now func() time.Time
}

// New builds a Service over a store; a nil loc is UTC, a nil now time.Now.
func New(store *db.Store, loc *time.Location, now func() time.Time) *Service {
	if loc == nil {
		loc = time.UTC
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, loc: loc, now: now}
}

// ParseFilter is ParseHistoryFilter in the service's zone.
func (s *Service) ParseFilter(kind, from, to, before string) (HistoryFilter, error) {
	return ParseHistoryFilter(kind, from, to, before, s.loc)
}
