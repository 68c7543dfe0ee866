package pages

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"im2pay/spend"
	"im2pay/views/i18n"
	"im2pay/views/layout"
)

// An event staff added in the console is shown by its own title and
// description in the page's language; a launch event by the catalog's.
func TestEventsShowStaffGivenTitlesInThePageLanguage(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	staffAdded := spend.EventStatus{Running: true, Event: spend.Event{Code: "spring_bonus", Kind: "spend_bonus",
		StartsAt: now, EndsAt: now.Add(time.Hour), TitleZH: "春季奖励", TitleEN: "Spring bonus",
		DescZH: "满百送十", DescEN: "Spend 100, get 10"}}
	launch := spend.EventStatus{Running: true, Event: spend.Event{Code: "autumn_bonus", Kind: "spend_bonus",
		StartsAt: now, EndsAt: now.Add(time.Hour)}}
	v := EventsView{Events: []spend.EventStatus{staffAdded, launch}}
	for lang, want := range map[i18n.Lang][]string{
		i18n.ZH: {"春季奖励", "满百送十", i18n.Lookup(i18n.ZH, "event.autumn_bonus")},
		i18n.EN: {"Spring bonus", "Spend 100, get 10", i18n.Lookup(i18n.EN, "event.autumn_bonus")},
	} {
		var b bytes.Buffer
		ctx := i18n.WithLocale(context.Background(), lang, time.UTC)
		if err := Events(layout.Shell{}, v).Render(ctx, &b); err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: %q missing", lang, w)
			}
		}
		if strings.Contains(b.String(), "event.spring_bonus") {
			t.Errorf("%s: the catalog key of a staff-added event is shown", lang)
		}
	}
}
