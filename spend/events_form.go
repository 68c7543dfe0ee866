package spend

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"im2pay/problem"
	"im2pay/wallet"
)

// EventForm is the console's new-event form as typed: amounts in yuan,
// times as a datetime-local input sends them ("2006-01-02T15:04").
type EventForm struct {
	Code, Kind                                string
	StartsAt, EndsAt                          string
	Price, ListPrice, MembershipDays, Sticker string
	Threshold, Bonus                          string
	TitleZH, TitleEN, DescZH, DescEN          string
}

// LocalTimeLayout is the layout of an HTML datetime-local input.
const LocalTimeLayout = "2006-01-02T15:04"

// ParseEventForm reads the form into a draft, times in loc (the staff
// member's zone); unreadable fields are problems on them (events.*), all
// joined. AddEvent validates the draft itself.
func ParseEventForm(f EventForm, loc *time.Location) (EventDraft, error) {
	d := EventDraft{Code: strings.TrimSpace(f.Code), Kind: f.Kind, TitleZH: f.TitleZH, TitleEN: f.TitleEN,
		DescZH: f.DescZH, DescEN: f.DescEN}
	var errs []error
	var err error
	if d.StartsAt, err = time.ParseInLocation(LocalTimeLayout, strings.TrimSpace(f.StartsAt), loc); err != nil {
		errs = append(errs, problem.New("starts_at", "events.time_syntax"))
	}
	if d.EndsAt, err = time.ParseInLocation(LocalTimeLayout, strings.TrimSpace(f.EndsAt), loc); err != nil {
		errs = append(errs, problem.New("ends_at", "events.time_syntax"))
	}
	money := func(field, s string) wallet.Money {
		if s = strings.TrimSpace(s); s == "" {
			return 0
		}
		m, err := wallet.ParseMoney(s)
		if err != nil {
			errs = append(errs, problem.New(field, "events.amount_syntax"))
		}
		return m
	}
	whole := func(field, s string) int64 {
		if s = strings.TrimSpace(s); s == "" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil || n < 0 {
			errs = append(errs, problem.New(field, "events.number_syntax"))
		}
		return n
	}
	d.Price, d.ListPrice = money("price", f.Price), money("list_price", f.ListPrice)
	d.Threshold, d.Bonus = money("threshold", f.Threshold), money("bonus", f.Bonus)
	d.MembershipDays, d.StickerProductID = int(whole("membership_days", f.MembershipDays)), whole("sticker", f.Sticker)
	return d, errors.Join(errs...)
}
