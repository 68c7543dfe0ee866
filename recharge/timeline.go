package recharge

import (
	"context"
	"database/sql"
	"time"
)

// timelineEvents caps the provider timeline of one page. Anyone may post a
// notification naming an order, and each is kept: a flood must not make
// the order's page unreadable or its query unbounded.
const timelineEvents = 1000

// otherOrders is how many of the same person's other orders the page lists.
const otherOrders = 10

// StateChange is one move of an order: From is empty for its creation.
type StateChange struct {
	From       string    `db:"from_state"`
	To         string    `db:"to_state"`
	FailReason string    `db:"fail_reason"`
	At         time.Time `db:"at"`
}

// LedgerEntry is one entry of a transaction an order caused. Account is
// the system account's code, or "wallet:NAME" for a person's wallet.
type LedgerEntry struct {
	AccountID    int64         `db:"account_id"`
	Account      string        `db:"account"`
	Amount       int64         `db:"amount"`
	BalanceAfter sql.NullInt64 `db:"balance_after"` // wallets only
}

// LedgerTransaction is a ledger transaction whose reference is the order.
type LedgerTransaction struct {
	ID          int64
	Key         string
	Kind        string
	Description string
	At          time.Time
	Entries     []LedgerEntry
}

// Timeline is everything the staff order page shows.
type Timeline struct {
	Order FoundOrder
	// States are the order's moves, oldest first (migration 0016 keeps
	// them; an order made before it has its creation and its state then).
	States []StateChange
	// Events are what was sent to and heard from the provider, oldest
	// first, bodies as received; Truncated says the cap cut older ones off.
	Events    []PaymentEvent
	Truncated bool
	// Transactions are the ledger transactions the order caused.
	Transactions []LedgerTransaction
	// Others are the same person's latest other orders, newest first.
	Others []Order
}

// Credited is what the order's transactions put into wallets, summed.
func (t Timeline) Credited() int64 {
	var sum int64
	for _, tx := range t.Transactions {
		for _, e := range tx.Entries {
			if e.BalanceAfter.Valid {
				sum += e.Amount
			}
		}
	}
	return sum
}

// OrderTimeline loads the staff order page of order no.
func (s *Service) OrderTimeline(ctx context.Context, no string) (Timeline, error) {
	var t Timeline
	o, err := s.OrderByNo(ctx, no)
	if err != nil {
		return t, err
	}
	t.Order = FoundOrder{Order: o}
	if t.Order.Username, err = s.usernameOf(ctx, o.UserID); err != nil {
		return t, err
	}
	if t.States, err = s.orderStates(ctx, o.ID); err != nil {
		return t, err
	}
	if t.Events, err = s.orderEvents(ctx, no, timelineEvents+1); err != nil {
		return t, err
	}
	if len(t.Events) > timelineEvents {
		// The newest are kept: the latest word decides a support call.
		t.Events, t.Truncated = t.Events[len(t.Events)-timelineEvents:], true
	}
	if t.Transactions, err = s.orderTransactions(ctx, "order:"+no); err != nil {
		return t, err
	}
	others, err := s.ordersOfUser(ctx, o.UserID, 0, otherOrders+1)
	if err != nil {
		return t, err
	}
	for _, x := range others {
		if x.ID != o.ID && len(t.Others) < otherOrders {
			t.Others = append(t.Others, x)
		}
	}
	return t, nil
}

// LatestOrders lists a person's latest n orders, newest first (n at most
// 100), for the staff person page.
func (s *Service) LatestOrders(ctx context.Context, userID int64, n int) ([]Order, error) {
	return s.ordersOfUser(ctx, userID, 0, min(max(n, 1), 100))
}
