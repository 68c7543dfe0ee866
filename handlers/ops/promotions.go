package ops

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"im2pay/audit"
	"im2pay/payment"
	"im2pay/problem"
	"im2pay/recharge"
	"im2pay/spend"
	"im2pay/staff"
	"im2pay/views/components"
	"im2pay/views/console"
	"im2pay/views/i18n"
)

// Paths of the promotions area.
const (
	promoPath        = "/ops/promotions"
	promoPreviewPath = "/ops/promotions/preview"
	promoPublishPath = "/ops/promotions/rules"
	promoEventPath   = "/ops/promotions/events"
	promoEndPath     = "/ops/promotions/events/end"
)

// versionsShown is how many rule versions the page lists.
const versionsShown = 20

// promotionRoutes are the recharge rules (versioned) and the events.
// Reading and previewing is for every role; changing is the admins'.
func (s *Server) promotionRoutes(g *echo.Group) {
	g.GET("/promotions", s.promotions, need(staff.View))
	g.POST("/promotions/preview", s.promotionPreview, need(staff.View))
	g.POST("/promotions/rules", s.publishRules, need(staff.EditPromotions))
	g.POST("/promotions/events", s.addEvent, need(staff.EditPromotions))
	g.POST("/promotions/events/end", s.endEvent, need(staff.EditPromotions))
}

// promotionsView is the page with the rules in force, the versions and
// the events; the forms start from the version in force and no problems.
func (s *Server) promotionsView(c echo.Context) (console.PromotionsView, error) {
	cur, err := s.d.Recharge.CurrentRules(ctx(c))
	if err != nil {
		return console.PromotionsView{}, err
	}
	vs, err := s.d.Recharge.RuleVersions(ctx(c), versionsShown)
	if err != nil {
		return console.PromotionsView{}, err
	}
	names := map[int64]string{}
	for _, v := range vs {
		if id := v.CreatedBy.Int64; v.CreatedBy.Valid && names[id] == "" {
			if m, err := s.d.Staff.ByID(ctx(c), id); err == nil {
				names[id] = m.Name
			}
		}
	}
	evs, err := s.d.Spend.EventRecords(ctx(c))
	if err != nil {
		return console.PromotionsView{}, err
	}
	now := s.d.Now()
	next := cur.Rules
	return console.PromotionsView{
		CSRF:     csrfToken(c),
		CanEdit:  s.member(c).Can(staff.EditPromotions),
		Current:  cur,
		Versions: console.VersionRows(vs, cur.ID, now, names),
		Rules: console.RulesFormView{Action: promoPublishPath, PreviewAction: promoPreviewPath,
			Form: recharge.FormOfRules(cur.Rules), Preview: console.Preview(cur.Rules, &next, payment.Methods[0], false)},
		Events:    console.EventRows(evs, now),
		EventForm: console.EventFormView{Action: promoEventPath, EndAction: promoEndPath, Form: spend.EventForm{Kind: "spend_bonus"}},
	}, nil
}

func (s *Server) promotions(c echo.Context) error {
	v, err := s.promotionsView(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, console.Promotions(v))
}

// rulesForm is the rules form as posted, with the preview's choices.
func rulesForm(c echo.Context) (recharge.RulesForm, console.PreviewView) {
	f := recharge.RulesForm{Presets: c.FormValue("presets"), Tiers: c.FormValue("tiers"),
		FirstBonus: c.FormValue("first_bonus"), DailyMax: c.FormValue("daily_max"),
		LimitMin: map[payment.Method]string{}, LimitMax: map[payment.Method]string{}}
	for _, m := range payment.Methods {
		f.LimitMin[m], f.LimitMax[m] = c.FormValue("limit_min_"+string(m)), c.FormValue("limit_max_"+string(m))
	}
	p := console.PreviewView{Method: payment.Methods[0], First: c.FormValue("preview_first") == "1"}
	for _, m := range payment.Methods {
		if string(m) == c.FormValue("preview_method") {
			p.Method = m
		}
	}
	return f, p
}

// promotionPreview answers the form's live preview (htmx) with the
// preview table alone; without JavaScript the preview button posts here
// and gets the whole page with the form as typed. Nothing is written.
func (s *Server) promotionPreview(c echo.Context) error {
	cur, err := s.d.Recharge.CurrentRules(ctx(c))
	if err != nil {
		return err
	}
	f, p := rulesForm(c)
	var next *recharge.Rules
	if r, err := recharge.ParseRulesForm(f); err == nil {
		next = &r
	}
	p = console.Preview(cur.Rules, next, p.Method, p.First)
	if c.Request().Header.Get("HX-Request") == "true" {
		return s.render(c, http.StatusOK, console.RulesPreview(p))
	}
	v, err := s.promotionsView(c)
	if err != nil {
		return err
	}
	v.Rules.Form, v.Rules.ValidFrom, v.Rules.Preview = f, c.FormValue("valid_from"), p
	return s.render(c, http.StatusOK, console.Promotions(v))
}

// publishRules adds the form's rules as a new version; the audit line
// (before and after) commits with it. A refusal shows the form as typed
// with each problem on its field, in the staff member's language.
func (s *Server) publishRules(c echo.Context) error {
	f, p := rulesForm(c)
	validFrom := strings.TrimSpace(c.FormValue("valid_from"))
	r, perr := recharge.ParseRulesForm(f)
	at, terr := recharge.ParseValidFrom(validFrom, i18n.Location(ctx(c)))
	err := errors.Join(perr, terr)
	switch {
	case err == nil:
		_, err = s.d.Recharge.PublishRules(ctx(c), r, at, s.member(c).ID, s.Entry(c, audit.Entry{}))
		if err == nil {
			return redirect(c, promoPath+"?done=ops.promo.published")
		}
	case perr == nil:
		// Only the start time was unreadable: say what else is wrong too.
		err = errors.Join(recharge.ValidateRules(r), terr)
	}
	problems, ok := components.ProblemsOf(err)
	if !ok {
		return err
	}
	v, verr := s.promotionsView(c)
	if verr != nil {
		return verr
	}
	var next *recharge.Rules
	if perr == nil {
		next = &r
	}
	v.Rules.Form, v.Rules.ValidFrom, v.Rules.Problems = f, validFrom, problems
	v.Rules.Preview = console.Preview(v.Current.Rules, next, p.Method, p.First)
	return s.render(c, http.StatusUnprocessableEntity, console.Promotions(v))
}

// addEvent adds an event from the form, audited in its transaction.
func (s *Server) addEvent(c echo.Context) error {
	f := spend.EventForm{Code: c.FormValue("code"), Kind: c.FormValue("kind"),
		StartsAt: c.FormValue("starts_at"), EndsAt: c.FormValue("ends_at"),
		Price: c.FormValue("price"), ListPrice: c.FormValue("list_price"),
		MembershipDays: c.FormValue("membership_days"), Sticker: c.FormValue("sticker"),
		Threshold: c.FormValue("threshold"), Bonus: c.FormValue("bonus"),
		TitleZH: c.FormValue("title_zh"), TitleEN: c.FormValue("title_en"),
		DescZH: c.FormValue("desc_zh"), DescEN: c.FormValue("desc_en")}
	d, err := spend.ParseEventForm(f, i18n.Location(ctx(c)))
	if err == nil {
		_, err = s.d.Spend.AddEvent(ctx(c), d, s.member(c).ID, s.Entry(c, audit.Entry{}))
		if err == nil {
			return redirect(c, promoPath+"?done=ops.events.added")
		}
	}
	problems, ok := components.ProblemsOf(err)
	if !ok {
		return err
	}
	v, verr := s.promotionsView(c)
	if verr != nil {
		return verr
	}
	v.EventForm.Form, v.EventForm.Problems = f, problems
	return s.render(c, http.StatusUnprocessableEntity, console.Promotions(v))
}

// endEvent ends an event now, or at the optional ends_at (earlier than
// planned only), audited with the event before and after.
func (s *Server) endEvent(c echo.Context) error {
	code := truncate(strings.TrimSpace(c.FormValue("code")), 64)
	var at time.Time
	var err error
	if t := strings.TrimSpace(c.FormValue("ends_at")); t != "" {
		if at, err = time.ParseInLocation(spend.LocalTimeLayout, t, i18n.Location(ctx(c))); err != nil {
			err = problem.New("", "events.time_syntax")
		}
	}
	if err == nil {
		_, err = s.d.Spend.EndEvent(ctx(c), code, at, s.member(c).ID, s.Entry(c, audit.Entry{}))
		if err == nil {
			return redirect(c, promoPath+"?done=ops.events.ended")
		}
	}
	problems, ok := components.ProblemsOf(err)
	if !ok {
		return err
	}
	v, verr := s.promotionsView(c)
	if verr != nil {
		return verr
	}
	// The refusal is about the event being ended, not a field of the
	// new-event form: it shows at the top of that form.
	for _, p := range problems {
		v.EventForm.Problems = components.Problems{"": p}
		break
	}
	return s.render(c, http.StatusUnprocessableEntity, console.Promotions(v))
}
