// Package console holds the page bodies of the operations console (/ops);
// the console's layout wraps them.
package console

import (
	"slices"
	"time"

	"im2pay/payment"
	"im2pay/recharge"
	"im2pay/spend"
	"im2pay/views/components"
	"im2pay/wallet"
)

// Testids and swap targets of the promotions page.
const (
	// PromoPreviewID is the preview table the rules form refreshes
	// (hx-post to RulesFormView.PreviewAction, hx-target this id).
	PromoPreviewID = "promo-preview"
	// RulesFormID and EventFormID are the forms' swap targets for a 422.
	RulesFormID = "rules-form"
	EventFormID = "event-form"
)

// PromotionsView is the promotions page: the rules in force, every
// version, the form to publish one with its preview, and the events.
type PromotionsView struct {
	CSRF      string
	CanEdit   bool // staff.EditPromotions: the forms and end buttons show only then
	Current   recharge.RuleVersion
	Versions  []VersionRow
	Rules     RulesFormView
	Events    []EventRow
	EventForm EventFormView
}

// VersionRow is one version in the list.
type VersionRow struct {
	recharge.RuleVersion
	State     string // "current", "scheduled" or "past"
	StaffName string // who published it; "" for the seed
}

// VersionRows marks each version (newest first, as RuleVersions lists them)
// as in force, scheduled or superseded at now; names maps staff ids to names.
func VersionRows(vs []recharge.RuleVersion, current int64, now time.Time, names map[int64]string) []VersionRow {
	out := make([]VersionRow, 0, len(vs))
	for _, v := range vs {
		r := VersionRow{RuleVersion: v, State: "past", StaffName: names[v.CreatedBy.Int64]}
		switch {
		case v.ID == current:
			r.State = "current"
		case v.ValidFrom.After(now):
			r.State = "scheduled"
		}
		out = append(out, r)
	}
	return out
}

// RulesFormView is the form that publishes a version, as typed.
type RulesFormView struct {
	Action        string // POST target that publishes
	PreviewAction string // POST target answering RulesPreview
	Form          recharge.RulesForm
	ValidFrom     string // datetime-local, "" for now
	Preview       PreviewView
	Problems      components.Problems
}

// PreviewView compares what a person sees for each preset now and under
// the form's rules, for one method.
type PreviewView struct {
	Method payment.Method
	First  bool // as a person with no paid top-up yet
	Rows   []PreviewRow
}

// PreviewRow is one amount under the rules in force and the new ones.
type PreviewRow struct {
	Amount     wallet.Money
	Now, New   recharge.Quote
	NowInLimit bool // the method accepts the amount under the rules in force
	NewInLimit bool
}

// Preview builds the preview of every preset of either rule set (new may
// be nil when the form does not parse: then only "now" is shown).
func Preview(now recharge.Rules, next *recharge.Rules, m payment.Method, first bool) PreviewView {
	amounts := slices.Clone(now.Presets)
	if next != nil {
		amounts = append(amounts, next.Presets...)
	}
	slices.Sort(amounts)
	amounts = slices.Compact(amounts)
	v := PreviewView{Method: m, First: first}
	for _, a := range amounts {
		r := PreviewRow{Amount: a, Now: recharge.Preview(now, a, m, first), NowInLimit: inLimit(now, m, a)}
		if next != nil {
			r.New, r.NewInLimit = recharge.Preview(*next, a, m, first), inLimit(*next, m, a)
		}
		v.Rows = append(v.Rows, r)
	}
	return v
}

func inLimit(r recharge.Rules, m payment.Method, a wallet.Money) bool {
	lim, ok := r.Limits[m]
	return ok && a >= lim.Min && a <= lim.Max
}

// EventRow is one event with its state at the time of the page.
type EventRow struct {
	spend.EventRecord
	State string // "scheduled", "running" or "ended"
}

// EventRows marks each event's state at now.
func EventRows(es []spend.EventRecord, now time.Time) []EventRow {
	out := make([]EventRow, 0, len(es))
	for _, e := range es {
		r := EventRow{EventRecord: e, State: "running"}
		switch {
		case now.Before(e.StartsAt):
			r.State = "scheduled"
		case !now.Before(e.EndsAt):
			r.State = "ended"
		}
		out = append(out, r)
	}
	return out
}

// EventFormView is the new-event form, and the action ending an event
// (POST EndAction with the field "code"; an optional "ends_at").
type EventFormView struct {
	Action    string
	EndAction string
	Form      spend.EventForm
	Problems  components.Problems
}
