// Package reconcile is the daily reconciliation (对账): for each provider
// and day it fetches the provider's bill (payment.Biller), matches every
// line with our orders and refunds and every order credited that day with
// the bill, books the provider's fees, and keeps a report per (method,
// day) whose differences stay open until a staff member resolves each
// with a note. Money moves only through ledger.Post (fees) and
// recharge's crediting (a payment the provider holds and we never
// credited, confirmed by recharge.Service.Requery).
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"im2pay/db"
	"im2pay/ledger"
	"im2pay/payment"
	"im2pay/recharge"
)

// Classes of what a run finds. Matched is no difference; the others are
// one difference row each.
const (
	Matched  = "matched"
	Lost     = "lost"     // paid at the provider, not credited here
	Absent   = "absent"   // credited here, absent from the provider's bill
	Mismatch = "mismatch" // amount or currency differ
	Refund   = "refund"   // a refund line we lack, ours missing, amounts differing
)

// Classes lists every class in the order reports show them.
var Classes = []string{Matched, Lost, Absent, Mismatch, Refund}

// ErrNotReady is Run's answer when the provider's bill is not available
// yet (asked too early): nothing was stored, ask again later.
var ErrNotReady = errors.New("reconcile: the bill is not ready yet")

// ErrNoBiller is Run's answer for a method without a Biller.
var ErrNoBiller = errors.New("reconcile: no bill is available for that method")

// Requerier asks a provider about one order and credits it through the one
// crediting function when the provider says it is paid
// (recharge.Service.Requery).
type Requerier interface {
	Requery(ctx context.Context, no string) (recharge.Order, recharge.Answer, error)
}

// Options are the service's dependencies.
type Options struct {
	Ledger *ledger.Ledger
	// Billers are the providers whose bills can be fetched; a method
	// without one is not reconciled.
	Billers map[payment.Method]payment.Biller
	// Recharge confirms and credits a payment the bill shows and we never
	// credited.
	Recharge Requerier
	// Now is the app clock; Beijing is the zone of the Chinese providers'
	// days (Asia/Shanghai; nil: loaded, UTC+8 when the zone data is missing).
	Now     func() time.Time
	Beijing *time.Location
	Logger  *slog.Logger
}

// Service runs and keeps reconciliations.
type Service struct {
	store *db.Store
	o     Options
}

// NewService builds the service over store.
func NewService(store *db.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Beijing == nil {
		o.Beijing = Beijing()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Service{store: store, o: o}
}

// Beijing is Asia/Shanghai, or a fixed UTC+8 where the zone data is
// missing (China has no daylight saving time, so both are the same).
func Beijing() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

// Methods lists the methods that have a Biller, in payment.Methods' order.
func (s *Service) Methods() []payment.Method {
	var out []payment.Method
	for _, m := range []payment.Method{payment.Alipay, payment.WeChat, payment.Card, payment.PayPal} {
		if s.o.Billers[m] != nil {
			out = append(out, m)
		}
	}
	return out
}

// Day is the provider's day that contains t: midnight in Beijing for the
// three Chinese providers, midnight UTC for PayPal, whose Transaction
// Search window we ask for in UTC.
func (s *Service) Day(method payment.Method, t time.Time) time.Time {
	loc := s.o.Beijing
	if method == payment.PayPal {
		loc = time.UTC
	}
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// Run reconciles method's day (any time within it; see Day) and returns
// the stored report. Running a day again changes nothing that did not
// change at the provider: the same differences (kept, with whatever staff
// wrote on them), no new postings, no second credit.
func (s *Service) Run(ctx context.Context, method payment.Method, day time.Time) (Report, error) {
	b := s.o.Billers[method]
	if b == nil {
		return Report{}, fmt.Errorf("reconcile %s: %w", method, ErrNoBiller)
	}
	day = s.Day(method, day)
	// One run of a provider-day at a time: a second waits, then finds the
	// first's report and changes nothing (see lockDay).
	release, err := s.lockDay(ctx, method, day)
	if err != nil {
		return Report{}, fmt.Errorf("reconcile %s %s: %w", method, day.Format(time.DateOnly), err)
	}
	defer release()
	bill, err := b.Bill(ctx, day)
	switch {
	case errors.Is(err, payment.ErrBillNotReady):
		return Report{}, fmt.Errorf("reconcile %s %s: %w", method, day.Format(time.DateOnly), ErrNotReady)
	case errors.Is(err, payment.ErrNoBill):
		bill = payment.Bill{Method: method, Day: day} // an empty day: every order of it is absent
	case err != nil:
		return Report{}, fmt.Errorf("reconcile %s %s: bill: %w", method, day.Format(time.DateOnly), err)
	}
	if bill.Method != "" && bill.Method != method {
		return Report{}, fmt.Errorf("reconcile %s: the biller answered a bill of %s", method, bill.Method)
	}
	r, err := s.match(ctx, method, day, bill)
	if err != nil {
		return Report{}, fmt.Errorf("reconcile %s %s: %w", method, day.Format(time.DateOnly), err)
	}
	return r, nil
}

// BillersOf is every provider of providers that can fetch its bill: a
// provider package's Bill method is all it takes to be reconciled.
func BillersOf(providers map[payment.Method]payment.Provider) map[payment.Method]payment.Biller {
	out := map[payment.Method]payment.Biller{}
	for m, p := range providers {
		if b, ok := p.(payment.Biller); ok {
			out[m] = b
		}
	}
	return out
}
