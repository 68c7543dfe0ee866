package spend

import (
	"context"
	"errors"
	"testing"
	"time"

	"im2pay/audit"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/problem"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func newEventsService(t *testing.T, now *time.Time) (*Service, *db.Store) {
	t.Helper()
	store := db.New(dbtest.New(t))
	return NewService(store, Options{Now: func() time.Time { return *now }}), store
}

func bonusDraft(now time.Time) EventDraft {
	return EventDraft{Code: "spring_bonus", Kind: "spend_bonus", StartsAt: now.Add(time.Hour), EndsAt: now.Add(48 * time.Hour),
		Threshold: 100_00, Bonus: 10_00, TitleZH: "春季消费奖励", TitleEN: "Spring spending bonus"}
}

func TestStaffAddAnEventWithAWindowAndEndItEarly(t *testing.T) {
	now := time.Date(2030, 4, 1, 9, 0, 0, 0, time.UTC)
	s, store := newEventsService(t, &now)
	ctx := context.Background()
	e, err := s.AddEvent(ctx, bonusDraft(now), 0, audit.Entry{StaffName: "ops"})
	if err != nil || e.Running(now) || !e.Running(now.Add(2*time.Hour)) || e.TitleEN != "Spring spending bonus" {
		t.Fatalf("added %+v, %v", e, err)
	}
	if _, err := s.AddEvent(ctx, bonusDraft(now), 0, audit.Entry{StaffName: "ops"}); !isProblem(err, "code", "events.code_taken") {
		t.Fatalf("the same code again: %v", err)
	}
	now = now.Add(2 * time.Hour)
	ended, err := s.EndEvent(ctx, "spring_bonus", time.Time{}, 0, audit.Entry{StaffName: "ops"})
	if err != nil || ended.Running(now) || !ended.EndsAt.Equal(now) || ended.Threshold != e.Threshold || ended.Bonus != e.Bonus {
		t.Fatalf("ended %+v, %v", ended, err)
	}
	if _, err := s.EndEvent(ctx, "spring_bonus", now.Add(time.Hour), 0, audit.Entry{StaffName: "ops"}); !isProblem(err, "ends_at", "events.end_later") {
		t.Fatalf("extending by ending later: %v", err)
	}
	var n int
	if err := store.DB().GetContext(ctx, &n, `SELECT count(*) FROM audit_log WHERE object_kind = 'event' AND after IS NOT NULL`); err != nil || n != 2 {
		t.Fatalf("%d audit lines, %v; want the add and the end", n, err)
	}
}

func TestAnEventNotStartedEndsWithAnEmptyPastWindow(t *testing.T) {
	now := time.Date(2030, 4, 1, 9, 0, 0, 0, time.UTC)
	s, _ := newEventsService(t, &now)
	ctx := context.Background()
	if _, err := s.AddEvent(ctx, bonusDraft(now), 0, audit.Entry{StaffName: "ops"}); err != nil {
		t.Fatal(err)
	}
	e, err := s.EndEvent(ctx, "spring_bonus", time.Time{}, 0, audit.Entry{StaffName: "ops"})
	if err != nil || e.Running(now) || e.Running(now.Add(2*time.Hour)) || e.EndsAt.After(now) {
		t.Fatalf("cancelled %+v, %v", e, err)
	}
}

// The shown price of a bundle cannot be changed behind a person's back:
// not through the console (there is no edit) and not by SQL.
func TestTheTermsOfAnEventCannotChange(t *testing.T) {
	now := time.Now()
	_, store := newEventsService(t, &now)
	_, err := store.DB().ExecContext(context.Background(), `UPDATE events SET price = 1 WHERE code = 'winter_bundle'`)
	if err == nil {
		t.Fatal("a bundle was repriced in place")
	}
}

func TestAddEventRefusesADraftThatDoesNotHoldTogether(t *testing.T) {
	now := time.Date(2030, 4, 1, 9, 0, 0, 0, time.UTC)
	s, _ := newEventsService(t, &now)
	cases := []struct {
		name        string
		edit        func(*EventDraft)
		field, code string
	}{
		{"a code with spaces", func(d *EventDraft) { d.Code = "spring bonus" }, "code", "events.code_syntax"},
		{"an end before the start", func(d *EventDraft) { d.EndsAt = d.StartsAt.Add(-time.Hour) }, "ends_at", "events.window"},
		{"a bonus above its threshold", func(d *EventDraft) { d.Bonus = 200_00 }, "bonus", "events.bonus"},
		{"no English title", func(d *EventDraft) { d.TitleEN = " " }, "title_en", "events.title_missing"},
		{"an unknown kind", func(d *EventDraft) { d.Kind = "lottery" }, "kind", "events.kind"},
		{"a bundle dearer than its list price", func(d *EventDraft) {
			d.Kind, d.Price, d.ListPrice, d.MembershipDays = "bundle", 20_00, 10_00, 30
		}, "price", "events.bundle_price"},
		{"an empty bundle", func(d *EventDraft) { d.Kind, d.Price, d.ListPrice = "bundle", 10_00, 20_00 }, "membership_days", "events.bundle_contents"},
	}
	for _, c := range cases {
		d := bonusDraft(now)
		c.edit(&d)
		if _, err := s.AddEvent(context.Background(), d, 0, audit.Entry{StaffName: "ops"}); !isProblem(err, c.field, c.code) {
			t.Errorf("%s: %v, want %s on %s", c.name, err, c.code, c.field)
		}
	}
}

func isProblem(err error, field, code string) bool {
	var p *problem.Problem
	if errors.As(err, &p) && p == err {
		return p.Field == field && p.Code == code
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if isProblem(e, field, code) {
				return true
			}
		}
	}
	if errors.As(err, &p) {
		return p.Field == field && p.Code == code
	}
	return false
}
