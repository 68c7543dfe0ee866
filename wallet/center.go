package wallet

import (
	"context"
	"fmt"

	"im2pay/account"
	"im2pay/db"
)

// AccountCenter loads the account center of a user the session has already
// loaded, in one read: the page's balance, membership, threshold, running events and
// newest lines come from one statement. Viewing credits a
// spend bonus whose threshold was crossed; only then (rarely) does it
// award and read again, so the page shows the new balance. The latest
// top-ups are recharge's (the handler reads them).
func (s *Service) AccountCenter(ctx context.Context, u account.User) (Overview, error) {
	now := s.now()
	v, err := s.store.AccountView(ctx, u.ID, u.WalletID, now, recentRecords)
	if err != nil {
		return Overview{}, fmt.Errorf("account center: %w", err)
	}
	if bonusDue(v) {
		if err := s.AwardEventBonuses(ctx, u.ID); err != nil {
			return Overview{}, fmt.Errorf("account center: %w", err)
		}
		if v, err = s.store.AccountView(ctx, u.ID, u.WalletID, now, recentRecords); err != nil {
			return Overview{}, fmt.Errorf("account center: %w", err)
		}
	}
	o := Overview{User: u, Balance: Money(v.Balance), Recent: Records(v.Recent), MembershipUntil: v.MembershipUntil,
		LowBalance: Money(v.LowBalance), Now: now}
	for _, e := range v.Events {
		o.Events = append(o.Events, EventStatus{Event: e.Event, Running: true, Spent: Money(e.Spent),
			Threshold: Money(e.Threshold), Bonus: Money(e.Bonus), Awarded: e.Awarded, Price: Money(e.Price),
			ListPrice: Money(e.ListPrice)})
	}
	return o, nil
}

// bonusDue reports whether a running spend-bonus event's threshold has been
// reached without its bonus: AwardEventBonuses' own test.
func bonusDue(v db.AccountView) bool {
	for _, e := range v.Events {
		if e.Kind == "spend_bonus" && !e.Awarded && e.Spent >= e.Threshold {
			return true
		}
	}
	return false
}
