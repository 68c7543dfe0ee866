package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"im2pay/internal/figures"
	"im2pay/payment/sandbox/sim"
	"im2pay/recharge"
	"im2pay/spend"
	"im2pay/wallet"
)

// victim is a user with one of everything an attacker could reach for, and
// the strings that only someone reading their data could know.
type victim struct {
	name            string
	id              int64
	paid, pending   string // order numbers
	pendingMethod   string
	orderKey        string // the request key of the pending order
	giftKey, buyKey string // the idempotency keys of a gift and a purchase
	secrets         []string
	browser         *browser
	carol           string // the third person alice exchanged gifts with
	carolID         int64
	session         string  // the public id of alice's session
	entries         []int64 // the ids of alice's history lines
}

// newVictim makes alice: a paid and a pending top-up, a gift sent and one
// received (each with a message), a sticker pack, a membership and her own
// settings. Every amount and text is one nobody else has.
func newVictim(t *testing.T, p *paySite) *victim {
	t.Helper()
	ctx := context.Background()
	v := &victim{name: "alice_victim_q7", carol: "carol_rcpt_k3", pendingMethod: "wechat"}
	v.browser = p.browser()
	expectRedirect(t, v.browser.register(v.name, goodPassword), "/account")
	v.id = userID(t, p.site, v.name)
	var session int64
	if err := p.store.DB().GetContext(ctx, &session, `SELECT public_id FROM sessions WHERE user_id = $1`, v.id); err != nil {
		t.Fatal(err)
	}
	v.session = strconv.FormatInt(session, 10)
	if _, err := p.wallet.Grant(ctx, v.id, 500_00, "sec-a1:alice", "welcome_grant"); err != nil {
		t.Fatal(err)
	}
	v.paid = p.order(v.browser, "alipay", "52.39")
	p.pay(v.browser, v.paid)
	p.settle(v.browser, v.paid, sim.Success)
	if state, _ := p.result(v.browser, v.paid, 10*time.Second); state != recharge.OrderPaid {
		t.Fatalf("alice's first order is %s, want paid", state)
	}
	v.pending = p.order(v.browser, v.pendingMethod, "61.17")
	p.pay(v.browser, v.pending)

	carol, err := p.accounts.Register(ctx, v.carol, goodPassword, "test:"+v.carol)
	if err != nil {
		t.Fatal(err)
	}
	v.carolID = carol.ID
	if _, err := p.wallet.Grant(ctx, carol.ID, 50_00, "sec-a1:carol", "welcome_grant"); err != nil {
		t.Fatal(err)
	}
	v.giftKey = "alice-gift-key-0000000001"
	if _, err := p.spend.SendGift(ctx, spend.GiftRequest{SenderID: v.id, To: v.carol, Gift: "heart", Quantity: "1",
		Message: "alice-whisper-Zq81", Key: v.giftKey}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.spend.SendGift(ctx, spend.GiftRequest{SenderID: carol.ID, To: v.name, Gift: "rose", Quantity: "2",
		Message: "carol-reply-Hm27", Key: "carol-gift-key-000000001"}); err != nil {
		t.Fatal(err)
	}
	v.buyKey = "alice-buy-key-00000000001"
	for i, code := range []string{"stickers_panda", "premium_1m"} {
		price := map[string]wallet.Money{"stickers_panda": 6_00, "premium_1m": 12_00}[code]
		if _, err := p.spend.Buy(ctx, spend.Purchase{UserID: v.id, Product: code, Key: v.buyKey[:len(v.buyKey)-1] + strconv.Itoa(i+1),
			Confirmed: true, Quoted: price}); err != nil {
			t.Fatalf("alice buys %s: %v", code, err)
		}
	}
	v.buyKey = v.buyKey[:len(v.buyKey)-1] + "1"
	if err := p.spend.SaveSettings(ctx, v.id, "43.21", "17.89"); err != nil {
		t.Fatal(err)
	}
	if err := p.store.DB().GetContext(ctx, &v.orderKey, `SELECT request_key FROM recharge_orders WHERE out_trade_no = $1`, v.pending); err != nil {
		t.Fatal(err)
	}
	if err := p.store.DB().SelectContext(ctx, &v.entries, `SELECT e.id FROM ledger_entries e JOIN accounts a ON a.id = e.account_id
		WHERE a.user_id = $1 ORDER BY e.id`, v.id); err != nil || len(v.entries) == 0 {
		t.Fatalf("alice's history lines: %v (%d)", err, len(v.entries))
	}
	v.secrets = []string{v.name, v.carol, "alice-whisper-Zq81", "carol-reply-Hm27", v.paid, v.pending,
		"52.39", "61.17", "43.21", "17.89", v.giftKey, v.orderKey}
	return v
}

// reach is one attempt of the attacker's: a request, and whether it reaches
// for the victim's object (then only 401, 403, 404 or a redirect that
// reveals nothing will do) or for the attacker's own page with ids tampered
// with (then any answer below 500, as long as it shows none of the victim's).
type reach struct {
	route   string // "METHOD /path" as the router lists it
	method  string
	path    string
	form    url.Values // nil for a GET; _csrf is added
	header  []string
	foreign bool
}

// tamper is what an attacker adds to every query to name someone else: ids
// only, so that alice's name showing up would still count as a leak.
func tamper(v *victim) url.Values {
	id := strconv.FormatInt(v.id, 10)
	return url.Values{"user_id": {id}, "uid": {id}, "owner": {id}, "sender_id": {id}, "account_id": {id}, "wallet_id": {id}}
}

// withTamper is a form with alice named every way a handler might read.
func withTamper(v *victim, form url.Values) url.Values {
	out := tamper(v)
	for _, k := range []string{"user", "username", "sender", "from"} {
		if _, set := form[k]; !set {
			out.Set(k, v.name)
		}
	}
	for k, vs := range form {
		out[k] = vs
	}
	return out
}

func TestSecurityASecondUserGetsNothingOfTheFirst(t *testing.T) {
	t.Parallel()
	p := newPaySite(t)
	v := newVictim(t, p)
	mallory := p.browser()
	expectRedirect(t, mallory.register("mallory_m", goodPassword), "/account")
	before := fingerprint(t, p.site, v.id)
	carolBefore := fingerprint(t, p.site, v.carolID)

	var attempts, through int
	covered := map[string]bool{}
	try := func(r reach) answer {
		t.Helper()
		covered[r.route] = true
		attempts++
		form := r.form
		if form != nil && r.method == http.MethodPost {
			form.Set("_csrf", csrfOf(t, mallory, "/account"))
		}
		path := r.path
		if r.method == http.MethodGet && !strings.HasPrefix(r.route, "GET /recharge/orders/:no") {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			path += sep + tamper(v).Encode()
		}
		a := mallory.do(r.method, path, form, r.header...)
		request := path
		if form != nil {
			request += " " + form.Encode()
		}
		var why []string
		if a.status >= 500 {
			why = append(why, "server error "+strconv.Itoa(a.status))
		}
		if r.foreign && !refusedOrBlankRedirect(a, r.path) {
			why = append(why, "answered "+strconv.Itoa(a.status))
		}
		if l := leaked(a, v.secrets, request); len(l) > 0 {
			why = append(why, "showed "+strings.Join(l, ", "))
		}
		if fp := fingerprint(t, p.site, v.id); fp != before {
			why = append(why, "changed alice's data: "+fp)
			before = fp
		}
		if fp := fingerprint(t, p.site, v.carolID); fp != carolBefore {
			why = append(why, "changed carol's data: "+fp)
			carolBefore = fp
		}
		if len(why) > 0 {
			through++
			t.Errorf("%s %s: %s", r.method, request, strings.Join(why, "; "))
		}
		return a
	}

	for _, r := range foreignReaches(v) {
		a := try(r)
		if a.status == http.StatusSeeOther && strings.HasPrefix(a.header.Get("Location"), "/recharge/orders/") {
			// The provider's return sends the browser on to the result
			// page, which is alice's alone.
			try(reach{route: "GET /recharge/orders/:no", method: http.MethodGet, path: a.header.Get("Location"), foreign: true})
		}
	}
	for _, r := range ownReaches(t, p, v) {
		try(r)
	}
	expectStatus(t, v.browser.get("/account"), http.StatusOK)
	expectEveryRoute(t, "A1 access", covered)

	figures.Record(t, "security", "A1 second user reaching for the first user's objects and ids", attempts, through)
	if through != 0 {
		t.Fatalf("%d of %d attempts reached alice's data or money", through, attempts)
	}
}

// refusedOrBlankRedirect: 401, 403 or 404, or a redirect that goes only
// where the request itself pointed (the provider return's result page).
func refusedOrBlankRedirect(a answer, path string) bool {
	switch a.status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return true
	case http.StatusBadRequest:
		// A NUL is refused at the edge, for any order number alike.
		return strings.Contains(path, "%00")
	case http.StatusSeeOther:
		loc := a.header.Get("Location")
		no := strings.TrimSuffix(strings.TrimPrefix(path, "/recharge/orders/"), "/return")
		return strings.HasSuffix(path, "/return") && (loc == "/recharge/orders/"+no || loc == "/recharge/orders/"+no+"?cancelled=1")
	}
	return false
}

// foreignReaches are the attempts on alice's own objects: every route that
// takes an order number, both her orders, in every way the pages ask.
func foreignReaches(v *victim) []reach {
	var out []reach
	get := func(route, path string, header ...string) {
		out = append(out, reach{route: route, method: http.MethodGet, path: path, header: header, foreign: true})
	}
	for _, no := range []string{v.paid, v.pending, strings.ToLower(v.pending), v.pending + "%00", "..%2F" + v.pending} {
		o := "/recharge/orders/" + no
		get("GET /recharge/orders/:no", o)
		get("GET /recharge/orders/:no", o+"?said=paid&at=1&start_failed=1", "HX-Request", "true")
		get("GET /recharge/orders/:no/pay", o+"/pay")
		get("GET /recharge/orders/:no/receipt", o+"/receipt")
		get("GET /recharge/orders/:no/status", o+"/status")
		get("GET /recharge/orders/:no/status", o+"/status?qr=1", "HX-Request", "true")
		get("GET /recharge/orders/:no/return", o+"/return")
		out = append(out,
			reach{route: "POST /recharge/orders/:no/check", method: http.MethodPost, path: o + "/check", form: url.Values{}, foreign: true},
			reach{route: "POST /recharge/orders/:no/cancel", method: http.MethodPost, path: o + "/cancel", form: url.Values{}, foreign: true},
			reach{route: "POST /recharge/orders/:no/paid", method: http.MethodPost, path: o + "/paid", form: url.Values{}, foreign: true},
			reach{route: "POST /recharge/orders/:no/renew", method: http.MethodPost, path: o + "/renew", form: url.Values{}, foreign: true},
			reach{route: "POST /recharge/orders/:no/refund", method: http.MethodPost, path: o + "/refund", form: url.Values{"reason": {"mine now"}}, foreign: true},
			reach{route: "POST /recharge/orders/:no/return", method: http.MethodPost, path: o + "/return", form: url.Values{}, foreign: true})
	}
	// Every line of alice's history, opened by its id: the receipt's and
	// the gift's details are hers alone.
	for _, id := range v.entries {
		out = append(out, reach{route: "GET /history/lines/:id", method: http.MethodGet, path: "/history/lines/" + strconv.FormatInt(id, 10), foreign: true})
	}
	// Alice's session, named on mallory's settings page form: ending it
	// must find nothing (alice stays logged in, checked at the end).
	out = append(out, reach{route: "POST /account/sessions/:id/end", method: http.MethodPost,
		path: "/account/sessions/" + v.session + "/end", form: url.Values{}, foreign: true})
	// The service API is the IM backend's: a person's cookie opens none of it.
	out = append(out,
		reach{route: "GET /api/v1/balance", method: http.MethodGet, path: "/api/v1/balance?user=" + v.name, foreign: true},
		reach{route: "POST /api/v1/charges", method: http.MethodPost, path: "/api/v1/charges", foreign: true,
			form: url.Values{"user": {v.name}, "amount_fen": {"100"}}},
		reach{route: "POST /api/v1/items/use", method: http.MethodPost, path: "/api/v1/items/use", foreign: true,
			form: url.Values{"user": {v.name}, "item": {"priority_100"}}})
	return out
}

// ownReaches are mallory's own pages and forms with alice's ids added to
// every query and form: all must answer about mallory alone.
func ownReaches(t *testing.T, p *paySite, v *victim) []reach {
	t.Helper()
	var event string
	if err := p.store.DB().GetContext(context.Background(), &event, `SELECT code FROM events ORDER BY id LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	var out []reach
	for _, route := range []string{"/", "/healthz", "/livez", "/readyz", "/api/v1/openapi.json", "/login", "/register", "/account", "/account/password", "/account/settings",
		"/account/redeem", "/history", "/history/summary", "/history/export.csv", "/gifts", "/shop", "/events", "/recharge", "/recharge/orders",
		"/recharge/preview", "/recharge/confirm", "/account/live", "/account/live/balance",
		"/account/protection", "/recharge/agreement", "/support"} {
		out = append(out, reach{route: "GET " + route, method: http.MethodGet, path: route})
	}
	out = append(out,
		reach{route: "GET /static*", method: http.MethodGet, path: "/static/css/app.css"},
		reach{route: "GET /history", method: http.MethodGet, path: "/history?before=9223372036854775807", header: []string{"HX-Request", "true"}},
		reach{route: "GET /history", method: http.MethodGet, path: "/history?kind=gift", header: []string{"HX-Request", "true"}},
		reach{route: "GET /history/links", method: http.MethodGet, path: "/history/links?kind=gift", header: []string{"HX-Request", "true"}},
		reach{route: "GET /history/links", method: http.MethodGet, path: "/history/links?kind=gift"},
		reach{route: "GET /history/export.csv", method: http.MethodGet, path: "/history/export.csv?kind=gift&from=2000-01-01"},
		reach{route: "GET /shop", method: http.MethodGet, path: "/shop?product=stickers_panda"},
		reach{route: "GET /events", method: http.MethodGet, path: "/events?event=" + event},
		reach{route: "GET /gifts", method: http.MethodGet, path: "/gifts?gift=heart&quantity=1"},
		reach{route: "GET /recharge/confirm", method: http.MethodGet, path: "/recharge/confirm?method=alipay&amount=30&key=" + v.orderKey},
	)
	post := func(route string, form url.Values) {
		out = append(out, reach{route: "POST " + route, method: http.MethodPost, path: route, form: withTamper(v, form)})
	}
	post("/gifts", url.Values{"to": {v.carol}, "gift": {"rose"}, "quantity": {"1"}, "message": {"m"}, "key": {"mallory-gift-key-000001"}})
	post("/gifts", url.Values{"to": {"mallory_m"}, "gift": {"rose"}, "quantity": {"1"}, "key": {v.giftKey}})
	post("/shop/buy", url.Values{"product": {"stickers_cat"}, "confirmed": {"1"}, "price": {"6.00"}, "key": {"mallory-buy-key-0000001"}})
	post("/shop/buy", url.Values{"product": {"stickers_panda"}, "confirmed": {"1"}, "price": {"6.00"}, "key": {v.buyKey}})
	post("/events/buy", url.Values{"event": {event}, "confirmed": {"1"}, "key": {"mallory-event-key-00001"}})
	post("/account/settings", url.Values{"confirm_above": {"1"}, "low_balance": {"1"}})
	post("/account/protection/caps", url.Values{"spend_day": {"500"}, "spend_month": {""}, "topup_day": {""}, "topup_month": {""}})
	post("/account/protection/minors", url.Values{"pin": {"246810"}, "pin_again": {"246810"}})
	post("/account/protection/minors/off", url.Values{"pin": {"246810"}})
	post("/account/password", url.Values{"current_password": {goodPassword}, "password": {"mallory-new-secret-9"}})
	post("/account/sessions/end-others", url.Values{})
	post("/account/redeem", url.Values{"code": {"AAAA-AAAA-AAAA-AAAA"}})
	post("/recharge/orders", url.Values{"method": {"alipay"}, "amount": {"30"}, "key": {"mallory-order-key-000001"}})
	post("/lang", url.Values{"lang": {"zh-CN"}, "next": {"/account"}})
	post("/login", url.Values{"username": {"mallory_m"}, "password": {"mallory-new-secret-9"}})
	post("/register", url.Values{"username": {"mallory_two"}, "password": {goodPassword}})
	// Reusing alice's idempotency keys must find nothing of hers: not her
	// order (its number in the answer would be a leak), gift or purchase.
	post("/recharge/orders", url.Values{"method": {v.pendingMethod}, "amount": {"61.17"}, "key": {v.orderKey}})
	// The page's own one-press order (POST /recharge) likewise.
	post("/recharge", url.Values{"method": {"alipay"}, "amount": {"30"}, "key": {"mallory-page-order-key-01"}})
	post("/recharge", url.Values{"method": {v.pendingMethod}, "amount": {"61.17"}, "key": {v.orderKey}})
	// A notification names the order, not a person; unsigned it is refused.
	out = append(out, reach{route: "POST /pay/notify/:method", method: http.MethodPost, path: "/pay/notify/alipay",
		form: url.Values{"out_trade_no": {v.pending}, "trade_status": {"TRADE_SUCCESS"}, "total_amount": {"61.17"}}})
	// Last: logging out names nobody but the one logging out.
	post("/logout", url.Values{})
	return out
}
