package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"im2pay/spend"
	"im2pay/views/components"
	"im2pay/views/pages"
	"im2pay/wallet"
)

// giftsPage shows the gifts page. Query parameters prefill the form, so
// the shortfall's top-up can bring the person back to the gift they were
// sending, still unsent.
func (s *Server) giftsPage(c echo.Context) error {
	f := pages.GiftFormView{To: c.QueryParam("to"), Gift: c.QueryParam("gift"),
		Quantity: orDefault(c.QueryParam("quantity"), "1"), Message: c.QueryParam("message"), Key: newRequestKey()}
	return s.renderGifts(c, http.StatusOK, f, true)
}

// sendGift sends a gift once per form key, or shows the form again with
// what stopped it: the problems, or the shortfall with its top-up button.
func (s *Server) sendGift(c echo.Context) error {
	if err := strictForm(c, "to", "gift", "quantity", "message", "key", "confirmed", "price"); err != nil {
		return err
	}
	u, _ := currentUser(c)
	f := pages.GiftFormView{To: c.FormValue("to"), Gift: c.FormValue("gift"), Quantity: c.FormValue("quantity"),
		Message: c.FormValue("message"), Key: c.FormValue("key")}
	req := spend.GiftRequest{SenderID: u.ID, To: f.To, Gift: f.Gift, Quantity: f.Quantity, Message: f.Message,
		Key: f.Key, Session: sessionHash(c), Confirmed: c.FormValue("confirmed") == "1"}
	if price := c.FormValue("price"); price != "" {
		// Our form carries a total only with its confirmation, and only
		// as an amount: anything else no page of ours sent.
		quoted, err := wallet.ParseMoney(price)
		if err != nil || !req.Confirmed {
			return echo.NewHTTPError(http.StatusBadRequest)
		}
		req.Quoted = quoted
	}
	_, err := s.spend.SendGift(c.Request().Context(), req)
	var short *spend.Shortfall
	var need *spend.NeedsConfirmation
	switch {
	case errors.As(err, &need):
		// Above the person's threshold: the same form again, asking to
		// confirm the total (a total changed meanwhile is a 409).
		f.Confirm = &pages.GiftConfirm{Total: need.Price, BalanceAfter: need.BalanceAfter, Repriced: need.Repriced}
		return s.renderGifts(c, statusFor(err), f, false)
	case errors.As(err, &short):
		missing := short.Missing()
		f.Shortfall = &pages.GiftShortfall{Missing: missing, Preset: s.recharges.RoundUpToPreset(c.Request().Context(), missing), ReturnTo: giftReturnTo(f)}
		return s.renderGifts(c, http.StatusUnprocessableEntity, f, false)
	case err != nil:
		problems, ok := components.ProblemsOf(err)
		if !ok {
			return err
		}
		f.Problems = problems
		// A refused field moved nothing, so the key stays and a double
		// click still sends once; a refused key is replaced, or the next
		// submit would be refused the same way.
		if problems[""] != nil {
			f.Key = newRequestKey()
		}
		return s.renderGifts(c, http.StatusUnprocessableEntity, f, false)
	}
	if sess := session(c); sess != nil {
		sess.AddFlash("gifts.sent", sessFlash)
		if err := sess.Save(c.Request(), c.Response()); err != nil {
			// The gift is sent; only the notice is lost.
			s.log.ErrorContext(c.Request().Context(), "save session after gift", "err", err)
		}
	}
	return redirect(c, "/gifts")
}

// renderGifts shows the page, or to htmx the form alone. preselect picks
// the first gift when none is chosen yet (a fresh page, not a refusal).
func (s *Server) renderGifts(c echo.Context, status int, f pages.GiftFormView, preselect bool) error {
	u, _ := currentUser(c)
	o, err := s.spend.Gifts(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	f.Items = o.Items
	if preselect && f.Gift == "" && len(o.Items) > 0 {
		f.Gift = o.Items[0].Code
	}
	sh := s.shell(c, "gifts.title", "gifts")
	return render(c, status, pages.Gifts(sh, pages.GiftsView{Overview: o, Form: f}), pages.GiftForm(sh.CSRF, f))
}

// giftReturnTo is this page with the refused gift filled in, for after
// the top-up. No key: coming back must not send anything by itself.
func giftReturnTo(f pages.GiftFormView) string {
	q := url.Values{}
	for k, v := range map[string]string{"to": strings.TrimSpace(f.To), "gift": f.Gift,
		"quantity": strings.TrimSpace(f.Quantity), "message": f.Message} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return "/gifts?" + q.Encode()
}
