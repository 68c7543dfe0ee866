package spend

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/ledger"
	"im2pay/wallet"
)

// EventStatus is an event as one person sees it.
type EventStatus struct {
	Event
	Running   bool
	Spent     wallet.Money // spend_bonus: spending inside the window so far
	Threshold wallet.Money
	Bonus     wallet.Money
	Awarded   bool
	Price     wallet.Money // bundle
	ListPrice wallet.Money
}

// Events lists the events with the person's progress. Viewing it also
// credits any spend bonus whose threshold was crossed (by a gift or a
// per-use charge, say), so the person never has to ask for it.
func (s *Service) Events(ctx context.Context, userID int64) ([]EventStatus, error) {
	if err := s.AwardEventBonuses(ctx, userID); err != nil {
		return nil, err
	}
	events, err := s.eventRows(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.accounts.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	awarded, err := s.awardedEvents(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []EventStatus
	for _, e := range events {
		st := EventStatus{Event: e, Running: e.Running(now), Threshold: wallet.Money(e.Threshold), Bonus: wallet.Money(e.Bonus),
			Awarded: awarded[e.ID], Price: wallet.Money(e.Price), ListPrice: wallet.Money(e.ListPrice)}
		if e.Kind == "spend_bonus" {
			spent, err := s.spentBetween(ctx, u.WalletID, e.StartsAt, e.EndsAt)
			if err != nil {
				return nil, err
			}
			st.Spent = wallet.Money(spent)
		}
		out = append(out, st)
	}
	return out, nil
}

// AwardEventBonuses credits, once per person and event, the bonus of every
// running spend-bonus event whose threshold the person's spending inside
// its window has reached. The event_bonuses row and the ledger key both
// make a second award impossible, however many requests race here.
func (s *Service) AwardEventBonuses(ctx context.Context, userID int64) error {
	events, err := s.eventRows(ctx)
	if err != nil {
		return err
	}
	u, err := s.accounts.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	awarded, err := s.awardedEvents(ctx, userID)
	if err != nil {
		return err
	}
	now := s.now()
	var errs []error
	for _, e := range events {
		if e.Kind != "spend_bonus" || awarded[e.ID] || !e.Running(now) {
			continue
		}
		// The window is the event's own: entries are stamped by the
		// database as they commit, so none lies ahead of it, and bounding
		// it by this process's clock would drop spending whenever the two
		// clocks disagree (a frozen test clock, or skewed servers).
		spent, err := s.spentBetween(ctx, u.WalletID, e.StartsAt, e.EndsAt)
		if err != nil {
			return err
		}
		if spent < e.Threshold {
			continue
		}
		errs = append(errs, s.awardEvent(ctx, e, u))
	}
	return errors.Join(errs...)
}

func (s *Service) awardEvent(ctx context.Context, e Event, u account.User) error {
	promotion, err := s.ledger.SystemAccountID(ctx, "promotion")
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		fresh, err := markEventBonus(ctx, tx, e.ID, u.ID)
		if err != nil || !fresh {
			return err
		}
		_, err = s.ledger.Post(ctx, ledger.Posting{
			Key: fmt.Sprintf("event_bonus:%d:%d", e.ID, u.ID), Kind: ledger.Bonus,
			Reference: "event:" + e.Code, Description: "event_bonus",
			Entries: []ledger.Entry{{AccountID: promotion, Amount: -e.Bonus}, {AccountID: u.WalletID, Amount: e.Bonus}},
		}, ledger.InTx(tx))
		return err
	})
}
