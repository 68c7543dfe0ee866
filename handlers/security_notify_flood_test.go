package handlers_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"im2pay/internal/figures"
)

// forgedNotice is a forged notification of method naming order no, with
// about pad bytes of padding: what an attacker posts to fill our disk.
func forgedNotice(method, no string, pad int, f paypalForger) notice {
	filler := strings.Repeat("x", pad)
	switch method {
	case "alipay":
		return formNotice(url.Values{"out_trade_no": {no}, "trade_status": {"TRADE_SUCCESS"}, "total_amount": {"68.00"},
			"sign_type": {"RSA2"}, "sign": {"Zm9yZ2Vk"}, "body": {filler}}.Encode())
	case "card":
		return formNotice(url.Values{"orderId": {no}, "respCode": {"00"}, "txnAmt": {"6800"}, "signMethod": {"01"},
			"signature": {"Zm9yZ2Vk"}, "reqReserved": {filler}}.Encode())
	case "wechat":
		h := http.Header{"Content-Type": {"application/json"}}
		h.Set("Wechatpay-Timestamp", strconv.FormatInt(time.Now().Unix(), 10))
		h.Set("Wechatpay-Nonce", randomDigits(32))
		h.Set("Wechatpay-Signature", "Zm9yZ2Vk")
		h.Set("Wechatpay-Serial", "PUB_KEY_ID_0116"+randomDigits(30))
		body := fmt.Sprintf(`{"id":"%s","event_type":"TRANSACTION.SUCCESS","resource_type":"encrypt-resource","summary":"%s"}`,
			randomDigits(36), filler)
		return notice{header: h, body: []byte(body)}
	default: // paypal: every header present, so only PayPal could tell
		n := f.sign([]byte(strings.Replace(string(f.event("PAYMENT.CAPTURE.COMPLETED", "9"+randomDigits(16), no, "68.00")),
			`"summary"`, `"pad":"`+filler+`","summary"`, 1)), strangerKey(), f.webhookID)
		return n
	}
}

// RELIABILITY B8: 10,000 forged notifications of 12 KB each, to every
// provider's endpoint, grow the database by less than 1 MB. The growth is
// a size read from PostgreSQL, not a time.
func TestSecurityForgedNotificationFloodGrowsTheDatabaseLittle(t *testing.T) {
	p := newPaySite(t)
	b := p.browser()
	b.register("flooded", goodPassword)
	nos := map[string]string{}
	for _, m := range methods {
		nos[m] = p.order(b, m, "68")
		p.pay(b, nos[m])
	}
	p.gw.Notifier.Wait()
	f := newPaypalForger(t, p.gw.Dir)
	size := func() int64 {
		return int64(p.ledgerCount(`SELECT pg_database_size(current_database())`))
	}
	const total, workers = 10_000, 8
	notifyRows := `SELECT count(*) FROM payment_events WHERE kind = 'notify'`
	stored, money, refusedBefore := p.ledgerCount(notifyRows), p.money(), p.refusedNotifications()
	before := size()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 30 * time.Second}
	jobs := make(chan notice)
	var wg sync.WaitGroup
	var mu sync.Mutex
	answers := map[int]int{}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				method := n.header.Get("X-Test-Method")
				req, _ := http.NewRequest(http.MethodPost, p.srv.URL+"/pay/notify/"+method, bytes.NewReader(n.body))
				req.Header = n.header
				res, err := client.Do(req)
				status := 0
				if err == nil {
					status = res.StatusCode
					res.Body.Close()
				}
				mu.Lock()
				answers[status]++
				mu.Unlock()
			}
		}()
	}
	for i := range total {
		m := methods[i%len(methods)]
		n := forgedNotice(m, nos[m], 12<<10, f)
		n.header.Set("X-Test-Method", m)
		jobs <- n
	}
	close(jobs)
	wg.Wait()

	grown := size() - before
	through := p.ledgerCount(notifyRows) - stored
	if p.money() != money {
		through = total
		t.Errorf("forged notifications moved money")
	}
	if answers[0] > 0 || answers[http.StatusOK]+answers[http.StatusNoContent] > total/4 {
		t.Errorf("answers by status: %v (0: no answer); only Alipay's refusal is a 200", answers)
	}
	if counted := p.refusedNotifications() - refusedBefore; counted != total {
		t.Errorf("%d refusals counted, want %d", counted, total)
	}
	samples := p.ledgerCount(`SELECT count(*) FROM callback_refusal_samples`)
	figures.Record(t, "security", "notify flood: 10,000 forged 12 KB notifications stored whole", total, through)
	figures.Line(t, "security", "notify flood: database growth for 10,000 forged notifications (bytes; limit 1 MiB)",
		strconv.FormatInt(grown, 10), "samples kept: "+strconv.Itoa(samples))
	t.Logf("database grew by %d bytes for %d forged notifications; %d samples kept; answers %v", grown, total, samples, answers)
	if grown >= 1<<20 {
		t.Errorf("the database grew by %d bytes, want < 1 MiB", grown)
	}
	if through != 0 {
		t.Errorf("%d forged notifications stored whole, want 0", through)
	}
	if samples > 4*16 {
		t.Errorf("%d samples kept, want at most 16 per method", samples)
	}
}

// refusedNotifications is how many refused notifications were counted.
func (p *paySite) refusedNotifications() int {
	return p.ledgerCount(`SELECT coalesce(sum(refused), 0) FROM callback_refusals WHERE kind = 'notify'`)
}

// Anonymous returns and notifications make the app call the provider at
// most once per order every few seconds (the wallet's clock is frozen, so
// however slowly the requests run, they all fall in one window).
func TestSecurityAnonymousCallbacksAskTheProviderOncePerOrder(t *testing.T) {
	clk := &clock{now: time.Now()}
	c := newCalls()
	p := newPaySiteWith(t, paySiteOptions{now: clk.Now, wrap: c.wrap})
	b := p.browser()
	b.register("polled", goodPassword)
	nos := map[string]string{}
	for _, m := range []string{"wechat", "paypal"} { // their returns are unsigned
		nos[m] = p.order(b, m, "68")
		p.pay(b, nos[m])
	}
	f := newPaypalForger(t, p.gw.Dir)
	anonymous := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	const each = 40
	burst := func(send func()) {
		var wg sync.WaitGroup
		for range each {
			wg.Add(1)
			go func() { defer wg.Done(); send() }()
		}
		wg.Wait()
	}
	returnTo := func(m string) func() {
		q := url.Values{}
		if m == "paypal" {
			q.Set("token", p.orderRef(nos[m]))
		}
		return func() {
			if res, err := anonymous.Get(p.srv.URL + "/recharge/orders/" + nos[m] + "/return?" + q.Encode()); err == nil {
				res.Body.Close()
			}
		}
	}
	notifyAbout := func(no func() string) func() {
		return func() { _ = p.notify("paypal", forgedNotice("paypal", no(), 0, f)) }
	}
	attempts, through := 0, 0
	for window := 1; window <= 2; window++ {
		for _, m := range []string{"wechat", "paypal"} {
			burst(returnTo(m))
			attempts += each
			if n := c.queriesOf(nos[m]); n != window {
				through += max(n-window, 0)
				t.Errorf("window %d: %d %s returns made %d provider queries in all, want %d", window, each, m, n, window)
			}
		}
		burst(notifyAbout(func() string { return nos["paypal"] }))
		burst(notifyAbout(func() string { return "T" + randomDigits(23) })) // orders we do not have
		attempts += 2 * each
		if n := c.remoteVerifications(); n != 2*window {
			through += max(n-2*window, 0)
			t.Errorf("window %d: PayPal was asked to verify %d webhooks in all, want %d", window, n, 2*window)
		}
		clk.Advance(5 * time.Second)
	}
	figures.Record(t, "security", "return/notify: anonymous requests making a provider call beyond one per order per 4 s", attempts, through)
}
