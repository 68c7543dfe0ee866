// Package center is the account center (个人中心): one person's balance,
// membership, low-balance threshold, running events with their progress,
// newest ledger lines and latest top-ups, read in as few queries as the
// page allows. It keeps the page's SQL; crediting a spend bonus that is
// due is the spend service's.
package center

import (
	"context"
	"fmt"
	"time"

	"im2pay/account"
	"im2pay/db"
	"im2pay/recharge"
	"im2pay/spend"
	"im2pay/wallet"
)

// recentRecords is how many ledger lines the account center shows.
const recentRecords = 5

// Service reads account centers.
type Service struct {
	store    *db.Store
	spend    *spend.Service
	recharge *recharge.Service
	now      func() time.Time
}

// Options configures a Service; zero fields take the defaults.
type Options struct {
	// Spend awards the spend bonuses the page finds due (nil: a spend
	// service over the same store with Now).
	Spend *spend.Service
	// Recharge lists the latest top-ups (nil: a recharge service over the
	// same store with Now and no providers).
	Recharge *recharge.Service
	Now      func() time.Time // nil: time.Now
}

// NewService builds a Service over a store.
func NewService(store *db.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Spend == nil {
		o.Spend = spend.NewService(store, spend.Options{Now: o.Now})
	}
	if o.Recharge == nil {
		o.Recharge = recharge.NewService(store, recharge.Options{Now: o.Now})
	}
	return &Service{store: store, spend: o.Spend, recharge: o.Recharge, now: o.Now}
}

// Overview is what the account center shows.
type Overview struct {
	User            account.User
	Balance         wallet.Money
	Recent          []wallet.Record
	MembershipUntil time.Time    // zero: never a member
	LowBalance      wallet.Money // the person's warning threshold
	Events          []spend.EventStatus
	Orders          []recharge.Order // the latest top-ups, in the state every page shows
	Now             time.Time
}

// AccountCenter loads the account center of a user the session has already
// loaded, in one read: the page's balance, membership, threshold, running
// events and newest lines come from one query. Viewing credits a
// spend bonus whose threshold was crossed; only then (rarely) does it
// award and read again, so the page shows the new balance. The latest
// top-ups are a second read.
func (s *Service) AccountCenter(ctx context.Context, u account.User) (Overview, error) {
	now := s.now()
	v, err := s.view(ctx, u.ID, u.WalletID, now, recentRecords)
	if err != nil {
		return Overview{}, fmt.Errorf("account center: %w", err)
	}
	if bonusDue(v) {
		if err := s.spend.AwardEventBonuses(ctx, u.ID); err != nil {
			return Overview{}, fmt.Errorf("account center: %w", err)
		}
		if v, err = s.view(ctx, u.ID, u.WalletID, now, recentRecords); err != nil {
			return Overview{}, fmt.Errorf("account center: %w", err)
		}
	}
	o := Overview{User: u, Balance: wallet.Money(v.Balance), Recent: wallet.Records(v.Recent),
		MembershipUntil: v.MembershipUntil, LowBalance: wallet.Money(v.LowBalance), Now: now}
	if o.Orders, err = s.recharge.RecentOrders(ctx, u.ID); err != nil {
		return Overview{}, fmt.Errorf("account center: %w", err)
	}
	for _, e := range v.Events {
		o.Events = append(o.Events, spend.EventStatus{Event: e.Event, Running: true, Spent: wallet.Money(e.Spent),
			Threshold: wallet.Money(e.Threshold), Bonus: wallet.Money(e.Bonus), Awarded: e.Awarded,
			Price: wallet.Money(e.Price), ListPrice: wallet.Money(e.ListPrice)})
	}
	return o, nil
}

// bonusDue reports whether a running spend-bonus event's threshold has been
// reached without its bonus: AwardEventBonuses' own test.
func bonusDue(v view) bool {
	for _, e := range v.Events {
		if e.Kind == "spend_bonus" && !e.Awarded && e.Spent >= e.Threshold {
			return true
		}
	}
	return false
}
