package pages

import (
	"context"

	"im2pay/spend"
	"im2pay/views/i18n"
)

// EventTitle is an event's title in the reader's language: the one staff
// gave it in the console, or the catalog's (event.<code>) for the launch
// events, which have none of their own.
func EventTitle(ctx context.Context, e spend.Event) string {
	if e.TitleZH == "" && e.TitleEN == "" {
		return i18n.T(ctx, "event."+e.Code)
	}
	return inLang(ctx, e.TitleZH, e.TitleEN)
}

// EventDesc is an event's description, as EventTitle; "" when staff gave
// the event a title but no description.
func EventDesc(ctx context.Context, e spend.Event) string {
	if e.TitleZH == "" && e.TitleEN == "" {
		return i18n.T(ctx, "event."+e.Code+".desc")
	}
	return inLang(ctx, e.DescZH, e.DescEN)
}

// inLang picks the text of the reader's language, the other one when that
// is empty (the console requires both titles, not both descriptions).
func inLang(ctx context.Context, zh, en string) string {
	want, other := zh, en
	if i18n.LangOf(ctx) == i18n.EN {
		want, other = en, zh
	}
	if want != "" {
		return want
	}
	return other
}
