package recharge

import (
	"context"
	"fmt"
	"time"

	"im2pay/payment"
	"im2pay/wallet"
)

// Standing is what the recharge page shows before any amount is chosen:
// the rules in force, whether the next paid top-up would be the person's
// first, the balance, and how much today's limit still admits. It is read
// with the same queries Quote and CreateOrder check against, so the page
// never promises what the order would refuse.
type Standing struct {
	Rules   RuleVersion
	First   bool         // no paid top-up yet: the first-top-up bonus applies
	Balance wallet.Money // the wallet now
	// UsedToday counts paid top-ups and open orders since midnight in the
	// service's zone, as the daily limit does.
	UsedToday wallet.Money
	// Own is the most the person's own caps and minors' mode admit now
	// (package limits), when OwnBounded.
	Own        wallet.Money
	OwnBounded bool
}

// LeftToday is what the daily limit, and the person's own limits, still
// admit (never below zero).
func (st Standing) LeftToday() wallet.Money {
	left := max(st.Rules.Rules.DailyMax-st.UsedToday, 0)
	if st.OwnBounded {
		left = min(left, st.Own)
	}
	return left
}

// OwnBinds reports whether the person's own limits, not the site's daily
// limit, decide LeftToday.
func (st Standing) OwnBinds() bool {
	return st.OwnBounded && st.Own < max(st.Rules.Rules.DailyMax-st.UsedToday, 0)
}

// Bonuses prices every preset for this person: the tier bonus each earns
// and the first-top-up bonus, through the same Preview that prices a quote.
func (st Standing) Bonuses(m payment.Method) []Quote {
	return PreviewPresets(st.Rules.Rules, string(m), st.First)
}

// Standing reads the person's standing for the recharge page.
func (s *Service) Standing(ctx context.Context, userID, walletID int64) (Standing, error) {
	rv, err := s.CurrentRules(ctx)
	if err != nil {
		return Standing{}, err
	}
	paid, err := hasPaidOrder(ctx, s.store.DB(), userID, 0)
	if err != nil {
		return Standing{}, fmt.Errorf("standing: %w", err)
	}
	bal, err := s.ledger.Balance(ctx, walletID)
	if err != nil {
		return Standing{}, fmt.Errorf("standing: balance: %w", err)
	}
	now := s.now()
	used, err := rechargedSince(ctx, s.store.DB(), userID, s.dayStart(now), now)
	if err != nil {
		return Standing{}, fmt.Errorf("standing: %w", err)
	}
	own, bounded, err := s.limits.TopUpRoom(ctx, s.store.DB(), userID)
	if err != nil {
		return Standing{}, fmt.Errorf("standing: %w", err)
	}
	return Standing{Rules: rv, First: !paid, Balance: wallet.Money(bal), UsedToday: wallet.Money(used),
		Own: own, OwnBounded: bounded}, nil
}

// dayStart is midnight of now's day in the service's zone: the day the
// daily limit counts.
func (s *Service) dayStart(now time.Time) time.Time {
	y, mo, d := now.In(s.loc).Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, s.loc)
}

// QuoteAt is Quote under the rules version a page was priced with (0: the
// version in force), as long as CreateOrder would still honour it (see
// rulesFor); ErrTermsChanged otherwise. The recharge page's one press
// compares it with what the page showed, so a page open across a change of
// rules pays the terms it showed, exactly as its confirm step would.
func (s *Service) QuoteAt(ctx context.Context, userID int64, method, amount string, version int64) (Quote, error) {
	rv, err := s.rulesFor(ctx, version)
	if err != nil {
		return Quote{}, err
	}
	return s.quoteUnder(ctx, rv, userID, method, amount)
}
