package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"im2pay/payment"
	"im2pay/recharge"
	"im2pay/views/components"
	"im2pay/views/i18n"
	"im2pay/views/pages"
	"im2pay/wallet"
)

// The recharge page (充值), cashier-grade: amount first with each preset's
// bonus, the balance and the day's allowance, and one press from the page
// to the provider. The confirm step (GET /recharge/confirm) stays for what
// needs a second look: see secondLook.

// rechargeView gathers what the recharge page and its confirm step show.
// key and return_to come from the query or the posted form alike.
func (s *Server) rechargeView(c echo.Context, method, amount string) (pages.RechargeView, error) {
	ctx := c.Request().Context()
	methods, err := s.recharges.Methods(ctx)
	if err != nil {
		return pages.RechargeView{}, err
	}
	u, _ := currentUser(c)
	st, err := s.recharges.Standing(ctx, u.ID, u.WalletID)
	if err != nil {
		return pages.RechargeView{}, err
	}
	rules := st.Rules.Rules
	v := pages.RechargeView{Methods: methods, DailyMax: rules.DailyMax, Method: method, Amount: amount,
		ReturnTo: safeNext(c.FormValue("return_to")), Key: c.FormValue("key"), CSRF: csrfToken(c),
		Balance: st.Balance, LeftToday: st.LeftToday(), OwnBinds: st.OwnBinds(), Tiers: rules.Tiers, Purpose: purposeOf(c.FormValue("return_to"))}
	if st.First {
		v.FirstBonus = rules.FirstBonus
	}
	if v.Method == "" {
		for _, m := range methods {
			// "not" is the method that just failed (换一种支付方式): never
			// picked for the person again.
			if m.Open && string(m.Method) != c.QueryParam("not") {
				v.Method = string(m.Method)
				break
			}
		}
	}
	for _, q := range st.Bonuses(payment.Method(v.Method)) {
		v.Tiles = append(v.Tiles, pages.PresetTile{Amount: q.Amount, TierBonus: q.TierBonus,
			FirstBonus: q.FirstBonus, OverToday: q.Amount > v.LeftToday})
	}
	// A key CreateOrder would refuse is replaced, or the page could never
	// be sent (a garbled link, a stale form).
	if len(v.Key) < 16 || len(v.Key) > 64 {
		v.Key = newRequestKey()
	}
	return v, nil
}

// quote fills the preview: the quote, or the problems with the input, and
// what about it needs a second look.
func (s *Server) quote(c echo.Context, v *pages.RechargeView) { s.quoteAt(c, v, 0) }

// quoteAt is quote under the rules version the page was priced with (0:
// the version in force). When that version is no longer honoured the page
// gets the terms in force next to the notice that they changed.
func (s *Server) quoteAt(c echo.Context, v *pages.RechargeView, version int64) {
	if v.Amount == "" {
		return
	}
	u, _ := currentUser(c)
	q, err := s.recharges.QuoteAt(c.Request().Context(), u.ID, v.Method, v.Amount, version)
	if errors.Is(err, recharge.ErrTermsChanged) && version != 0 {
		s.quoteAt(c, v, 0)
		v.Problems, _ = components.ProblemsOf(err)
		return
	}
	if problems, ok := components.ProblemsOf(err); ok {
		v.Problems = problems
		return
	}
	if err == nil {
		v.Quote = &q
		v.Seen = seenOf(q)
		v.SecondLook = secondLook(*v, q)
	}
}

// secondLook lists what about a quote deserves the confirm step: an amount
// above every preset (a typed 6800 meant as 68.00), or one that leaves
// less of today's limit than the smallest preset. Anything the rules
// refuse (a limit, maintenance) never gets this far: the page shows it.
func secondLook(v pages.RechargeView, q recharge.Quote) []pages.Notice {
	var out []pages.Notice
	var smallest, largest wallet.Money
	for i, t := range v.Tiles {
		if i == 0 {
			smallest = t.Amount
		}
		largest = max(largest, t.Amount)
	}
	if len(v.Tiles) > 0 && q.Amount > largest {
		out = append(out, pages.Notice{Key: "cashier.look_large", Args: []any{q.Amount.String(), largest.String()}})
	}
	if left := v.LeftToday - q.Amount; len(v.Tiles) > 0 && left < smallest {
		out = append(out, pages.Notice{Key: "cashier.look_limit", Args: []any{max(left, 0).String()}})
	}
	return out
}

// seenOf fingerprints a quote as the page showed it: the posted fingerprint
// equal to the quote now means the person saw exactly these terms (the
// live preview was current when they pressed), so no confirm step is
// needed. It is no secret and protects nothing: every term is checked
// again by CreateOrder whatever the form says.
func seenOf(q recharge.Quote) string {
	parts := []string{strconv.FormatInt(q.RulesVersion, 10), string(q.Method),
		strconv.FormatInt(int64(q.Amount), 10), strconv.FormatInt(int64(q.Total()), 10)}
	if q.Pay != nil {
		parts = append(parts, q.Pay.Currency, strconv.FormatInt(q.Pay.Amount, 10))
	}
	return strings.Join(parts, ":")
}

func (s *Server) recharge(c echo.Context) error {
	v, err := s.rechargeView(c, c.QueryParam("method"), formAmount(c))
	if err != nil {
		return err
	}
	s.quote(c, &v)
	return render(c, http.StatusOK, pages.Recharge(s.shell(c, "recharge.title", "recharge"), v), nil)
}

// rechargePreview answers the live "you pay / you receive" box and bar.
func (s *Server) rechargePreview(c echo.Context) error {
	v, err := s.rechargeView(c, c.QueryParam("method"), formAmount(c))
	if err != nil {
		return err
	}
	s.quote(c, &v)
	return render(c, http.StatusOK, pages.Recharge(s.shell(c, "recharge.title", "recharge"), v), pages.Preview(v))
}

// rechargeConfirm shows the summary before paying. It is a GET carrying
// the request key, so a refresh or the back button shows the same step.
func (s *Server) rechargeConfirm(c echo.Context) error {
	v, err := s.rechargeView(c, c.QueryParam("method"), formAmount(c))
	if err != nil {
		return err
	}
	s.quote(c, &v)
	sh := s.shell(c, "recharge.title", "recharge")
	if v.Quote == nil {
		if len(v.Problems) == 0 {
			v.Problems = components.Problems{"amount": wallet.NewProblem("amount", "money.empty")}
		}
		return render(c, http.StatusUnprocessableEntity, pages.Recharge(sh, v), nil)
	}
	return render(c, http.StatusOK, pages.Confirm(sh, v), nil)
}

// rechargeSubmit is the page's own button (立即充值): the order is made
// and the person sent to the provider in one press when the live preview
// showed exactly the terms that apply now and nothing needs a second look;
// otherwise the confirm step shows them. Without JavaScript, the preview
// button posts here too and gets the page back with the quote.
func (s *Server) rechargeSubmit(c echo.Context) error {
	if err := strictForm(c, "method", "amount", "custom", "key", "return_to", "rules_version", "seen", "preview"); err != nil {
		return err
	}
	v, err := s.rechargeView(c, c.FormValue("method"), postedAmount(c))
	if err != nil {
		return err
	}
	// The version the page's preview was priced under; absent or garbled
	// means the rules in force now.
	version, _ := strconv.ParseInt(c.FormValue("rules_version"), 10, 64)
	s.quoteAt(c, &v, version)
	sh := s.shell(c, "recharge.title", "recharge")
	if c.FormValue("preview") != "" && len(v.Problems) == 0 {
		return render(c, http.StatusOK, pages.Recharge(sh, v), nil)
	}
	if v.Quote == nil || len(v.Problems) > 0 {
		if len(v.Problems) == 0 {
			v.Problems = components.Problems{"amount": wallet.NewProblem("amount", "money.empty")}
		}
		return render(c, http.StatusUnprocessableEntity, pages.Recharge(sh, v), nil)
	}
	if len(v.SecondLook) > 0 || c.FormValue("seen") != v.Seen {
		return c.Redirect(http.StatusSeeOther, "/recharge/confirm?"+url.Values{"method": {v.Method},
			"amount": {v.Quote.Amount.Yuan()}, "key": {v.Key}, "return_to": {v.ReturnTo}}.Encode())
	}
	return s.placeOrder(c, v)
}

// placeOrder creates the order the page showed, under the rules version
// its quote was priced with: CreateOrder checks method, amount, limits,
// maintenance and that version again, so a form posted past the page gets
// no more than the page would have.
func (s *Server) placeOrder(c echo.Context, v pages.RechargeView) error {
	u, _ := currentUser(c)
	version := v.Quote.RulesVersion
	o, err := s.recharges.CreateOrder(c.Request().Context(), recharge.NewOrder{
		UserID: u.ID, Method: v.Method, Amount: v.Amount, Device: device(c), RequestKey: v.Key,
		ReturnTo: v.ReturnTo, RulesVersion: version,
	})
	if problems, ok := components.ProblemsOf(err); ok {
		if errors.Is(err, recharge.ErrTermsChanged) {
			s.quote(c, &v) // the new terms, next to the notice that they changed
		} else {
			v.Quote = nil
		}
		v.Problems = problems
		return render(c, http.StatusUnprocessableEntity, pages.Recharge(s.shell(c, "recharge.title", "recharge"), v), nil)
	}
	if err != nil {
		return err
	}
	return redirect(c, "/recharge/orders/"+o.OutTradeNo+"/pay")
}

// postedAmount is formAmount for the posted form.
func postedAmount(c echo.Context) string {
	if custom := strings.TrimSpace(c.FormValue("custom")); custom != "" {
		return custom
	}
	return c.FormValue("amount")
}

// code is what a catalog key's variable part may be: a return_to is the
// person's to edit, so only a name the catalog knows is ever shown.
var (
	codeRE     = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)
	usernameRE = regexp.MustCompile(`^[A-Za-z0-9_]{3,32}$`)
	quantityRE = regexp.MustCompile(`^[1-9][0-9]{0,2}$`)
)

// purposeOf reads what a shortfall top-up is for from where it returns to
// (components.Shortfall's return_to): a shop product, an event's bundle,
// or a gift. Anything else the page can only say it goes back to.
func purposeOf(returnTo string) *pages.Purpose {
	target := safeNext(returnTo)
	if target == "" {
		return nil
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil
	}
	q := u.Query()
	switch {
	case u.Path == "/shop" && codeRE.MatchString(q.Get("product")) && i18n.Has("product."+q.Get("product")):
		return &pages.Purpose{Kind: "buy", NameKey: "product." + q.Get("product")}
	case u.Path == "/events" && codeRE.MatchString(q.Get("event")) && i18n.Has("event."+q.Get("event")):
		return &pages.Purpose{Kind: "buy", NameKey: "event." + q.Get("event")}
	case u.Path == "/gifts" && codeRE.MatchString(q.Get("gift")) && i18n.Has("gift.name."+q.Get("gift")) &&
		usernameRE.MatchString(q.Get("to")) && (q.Get("quantity") == "" || quantityRE.MatchString(q.Get("quantity"))):
		n := q.Get("quantity")
		if n == "" {
			n = "1" // the gift form's default
		}
		return &pages.Purpose{Kind: "gift", NameKey: "gift.name." + q.Get("gift"), Quantity: n, To: q.Get("to")}
	}
	return &pages.Purpose{Kind: "back"}
}
