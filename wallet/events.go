package wallet

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"im2pay/account"
	"im2pay/db"
	"im2pay/ledger"
)

// EventStatus is an event as one person sees it.
type EventStatus struct {
	db.Event
	Running   bool
	Spent     Money // spend_bonus: spending inside the window so far
	Threshold Money
	Bonus     Money
	Awarded   bool
	Price     Money // bundle
	ListPrice Money
}

// Events lists the events with the person's progress. Viewing it also
// credits any spend bonus whose threshold was crossed (by a gift or a
// per-use charge, say), so the person never has to ask for it.
func (s *Service) Events(ctx context.Context, userID int64) ([]EventStatus, error) {
	if err := s.AwardEventBonuses(ctx, userID); err != nil {
		return nil, err
	}
	events, err := s.store.Events(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.accounts.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	awarded, err := s.store.AwardedEvents(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []EventStatus
	for _, e := range events {
		st := EventStatus{Event: e, Running: e.Running(now), Threshold: Money(e.Threshold), Bonus: Money(e.Bonus),
			Awarded: awarded[e.ID], Price: Money(e.Price), ListPrice: Money(e.ListPrice)}
		if e.Kind == "spend_bonus" {
			spent, err := s.store.SpentBetween(ctx, u.WalletID, e.StartsAt, e.EndsAt)
			if err != nil {
				return nil, err
			}
			st.Spent = Money(spent)
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
	events, err := s.store.Events(ctx)
	if err != nil {
		return err
	}
	u, err := s.accounts.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	awarded, err := s.store.AwardedEvents(ctx, userID)
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
		spent, err := s.store.SpentBetween(ctx, u.WalletID, e.StartsAt, e.EndsAt)
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

func (s *Service) awardEvent(ctx context.Context, e db.Event, u account.User) error {
	promotion, err := s.ledger.SystemAccountID(ctx, "promotion")
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		fresh, err := db.MarkEventBonus(ctx, tx, e.ID, u.ID)
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

// Settings are a person's thresholds as Money.
type Settings struct{ ConfirmAbove, LowBalance Money }

// SettingsOf loads a person's thresholds.
func (s *Service) SettingsOf(ctx context.Context, userID int64) (Settings, error) {
	st, err := s.store.SettingsOf(ctx, userID)
	return Settings{ConfirmAbove: Money(st.ConfirmAbove), LowBalance: Money(st.LowBalance)}, err
}

// SaveSettings parses and stores a person's thresholds.
func (s *Service) SaveSettings(ctx context.Context, userID int64, confirmAbove, lowBalance string) error {
	c, err1 := ParseMoney(confirmAbove)
	l, err2 := ParseMoney(lowBalance)
	if err1 != nil || err2 != nil {
		return errors.Join(fieldProblem(err1, "confirm_above"), fieldProblem(err2, "low_balance"))
	}
	return s.store.SaveSettings(ctx, userID, db.Settings{ConfirmAbove: int64(c), LowBalance: int64(l)})
}

// fieldProblem moves a money problem onto the form field it belongs to.
func fieldProblem(err error, field string) error {
	var p *Problem
	if errors.As(err, &p) {
		return NewProblem(field, p.Code, p.Args...)
	}
	return err
}
