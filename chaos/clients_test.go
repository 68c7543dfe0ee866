package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"im2pay/payment/sandbox/sim"
)

// Outcomes of an operation as its client saw it.
const (
	ok      = "ok"      // acknowledged: money moved (or an order paid)
	failed  = "failed"  // decided without moving money (402, 422)
	unknown = "unknown" // timeout, connection error or 5xx: it may or may not have happened
)

// charge is one per-use charge and what became of it.
type charge struct {
	key    string
	user   string
	amount int64
	reason string
	first  string // outcome of the first attempt
	final  string // after resolution: ok or failed
	status int    // the deciding answer's status
}

// topup is one recharge order: created with a request key, paid at the
// sandbox.
type topup struct {
	key     string
	user    string
	method  string
	amount  int64
	outcome sim.Outcome
	no      string // known once the app answered the create
	paid    bool   // the sandbox settled it as paid
	first   string
	final   string
}

// ledgerLog is every operation of every client.
type ledgerLog struct {
	mu      sync.Mutex
	charges []*charge
	topups  []*topup
	// reads and negative count every balance read during the run.
	reads, negative atomic.Int64
	// lateAnswers counts requests the app did not answer by the client's
	// deadline: F5 asserts none.
	lateAnswers atomic.Int64
}

func (l *ledgerLog) addCharge(c *charge) {
	l.mu.Lock()
	l.charges = append(l.charges, c)
	l.mu.Unlock()
}

func (l *ledgerLog) addTopup(tp *topup) {
	l.mu.Lock()
	l.topups = append(l.topups, tp)
	l.mu.Unlock()
}

// tally counts first outcomes, of charges and top-ups together.
func (l *ledgerLog) tally() (okN, failedN, unknownN int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	count := func(s string) {
		switch s {
		case ok:
			okN++
		case failed:
			failedN++
		default:
			unknownN++
		}
	}
	for _, c := range l.charges {
		count(c.first)
	}
	for _, tp := range l.topups {
		count(tp.first)
	}
	return
}

var reasons = []string{"priority_message", "message_recall", "voice_to_text", "translation", "large_file"}

// api is the IM backend: bearer token, JSON, a deadline per request.
type api struct {
	base     string
	http     *http.Client
	deadline time.Duration
	log      *ledgerLog
}

func newAPI(base string, deadline time.Duration, l *ledgerLog) *api {
	return &api{base: base, deadline: deadline, log: l,
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

// do sends one request with the client's deadline. err is non-nil when no
// answer came (the outcome is then unknown).
func (a *api) do(method, path string, body any) (int, []byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(context.Background(), a.deadline)
	defer cancel()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+serviceToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.http.Do(req)
	if err == nil {
		defer res.Body.Close()
		var b []byte
		if b, err = io.ReadAll(res.Body); err == nil {
			return res.StatusCode, b, res.Header, nil
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		a.log.lateAnswers.Add(1)
	}
	return 0, nil, nil, err
}

// charge sends c once and classifies the answer.
func (a *api) charge(c *charge) (string, int, error) {
	status, body, _, err := a.do(http.MethodPost, "/api/v1/charges", map[string]any{
		"user": c.user, "amount_fen": c.amount, "reason": c.reason, "idempotency_key": c.key})
	if err != nil {
		return unknown, 0, nil
	}
	switch {
	case status == http.StatusCreated || status == http.StatusPaymentRequired:
		var ans struct {
			BalanceFen *int64 `json:"balance_fen"`
		}
		if json.Unmarshal(body, &ans) != nil || ans.BalanceFen == nil {
			return unknown, status, fmt.Errorf("charge %s: %d without a balance: %s", c.key, status, body)
		}
		a.log.reads.Add(1)
		if *ans.BalanceFen < 0 {
			a.log.negative.Add(1)
		}
		if status == http.StatusCreated {
			return ok, status, nil
		}
		return failed, status, nil
	case status >= 500:
		return unknown, status, nil
	}
	// 400, 404, 409: the suite only sends good charges, so any of these
	// is a bug (409 would be a key "reused" by its own retry).
	return unknown, status, fmt.Errorf("charge %s: unexpected %d: %s", c.key, status, body)
}

// balance reads a wallet over the API, counting the read.
func (a *api) balance(user string) (int64, bool) {
	status, body, _, err := a.do(http.MethodGet, "/api/v1/balance?user="+user, nil)
	if err != nil || status != http.StatusOK {
		return 0, false
	}
	var ans struct {
		BalanceFen int64 `json:"balance_fen"`
	}
	if json.Unmarshal(body, &ans) != nil {
		return 0, false
	}
	a.log.reads.Add(1)
	if ans.BalanceFen < 0 {
		a.log.negative.Add(1)
	}
	return ans.BalanceFen, true
}

// person is a logged-in user with a browser's cookie jar.
type person struct {
	name     string
	base     string
	http     *http.Client
	csrf     string
	deadline time.Duration
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

const password = "chaos-pass-2026"

// register creates the account through the sign-up form (with the app's
// SIGNUP_GRANT) and keeps its session.
func register(base, name string, deadline time.Duration) (*person, error) {
	jar, _ := cookiejar.New(nil)
	p := &person{name: name, base: base, deadline: deadline, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	status, body, _, err := p.do(http.MethodGet, "/register", nil)
	if err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("register page: %d %v", status, err)
	}
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		return nil, errors.New("register page without a CSRF token")
	}
	p.csrf = m[1]
	status, body, _, err = p.do(http.MethodPost, "/register", url.Values{"username": {name}, "password": {password}})
	if err != nil || status != http.StatusSeeOther {
		return nil, fmt.Errorf("register %s: %d %v %.300s", name, status, err, body)
	}
	return p, nil
}

func (p *person) do(method, path string, form url.Values) (int, string, http.Header, error) {
	ctx, cancel := context.WithTimeout(context.Background(), p.deadline)
	defer cancel()
	var r io.Reader
	if form != nil {
		form.Set("_csrf", p.csrf)
		r = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, r)
	if err != nil {
		return 0, "", nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := p.http.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, "", nil, err
	}
	return res.StatusCode, string(b), res.Header, nil
}

var orderLocation = regexp.MustCompile(`^/recharge/orders/([0-9A-Za-z]+)/pay$`)

// createOrder places (or, with the same key, finds) tp's order.
func (p *person) createOrder(tp *topup) (string, error) {
	status, body, h, err := p.do(http.MethodPost, "/recharge/orders", url.Values{
		"method": {tp.method}, "amount": {wallet(tp.amount)}, "key": {tp.key}})
	if err != nil {
		return unknown, nil
	}
	if status == http.StatusSeeOther {
		m := orderLocation.FindStringSubmatch(h.Get("Location"))
		if m == nil {
			return unknown, fmt.Errorf("order %s: redirected to %q", tp.key, h.Get("Location"))
		}
		tp.no = m[1]
		return ok, nil
	}
	if status >= 500 {
		return unknown, nil
	}
	return failed, fmt.Errorf("order %s: %d %.300s", tp.key, status, body)
}

// startPayment opens the pay step, so the provider learns of the order:
// WeChat's Native QR is made server-side; Alipay's cashier is where the
// browser is sent, so follow it.
func (p *person) startPayment(tp *topup) bool {
	status, body, h, err := p.do(http.MethodGet, "/recharge/orders/"+tp.no+"/pay", nil)
	if err != nil {
		return false
	}
	loc := h.Get("Location")
	switch {
	case status == http.StatusOK && payForm.MatchString(body):
		// UnionPay: our page posts the signed form to the provider, as
		// the browser's autosubmit does.
		return p.postForm(body)
	case status == http.StatusOK: // our QR page: the provider made the code
		return true
	case status != http.StatusSeeOther || !strings.HasPrefix(loc, "http"):
		// A 5xx, or the result page with start_failed: the provider may
		// not have heard of the order.
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.deadline)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return true
}

// pay runs a top-up to its end: order, pay step, the outcome at the
// provider. It returns the outcome as the person saw it.
func (p *person) pay(gw *gateway, tp *topup) (string, error) {
	if tp.no == "" {
		out, err := p.createOrder(tp)
		if out != ok {
			return out, err
		}
	}
	started := p.startPayment(tp)
	ctx, cancel := context.WithTimeout(context.Background(), p.deadline)
	defer cancel()
	found, err := gw.simulate(ctx, tp.no, tp.outcome)
	if err != nil {
		return unknown, err
	}
	if !found {
		if !started {
			return unknown, nil
		}
		return unknown, fmt.Errorf("order %s started but unknown at the provider", tp.no)
	}
	tp.paid = true
	return ok, nil
}

// newTopup draws a top-up below the first bonus tier (¥68), so that the
// model is the amounts plus one first-recharge bonus per person.
func newTopup(rng *rand.Rand, user, key string, silence float64) *topup {
	tp := &topup{key: key, user: user, amount: int64(1+rng.IntN(60)) * 100, outcome: sim.Success}
	tp.method = "wechat"
	if rng.IntN(3) == 0 {
		tp.method = "alipay"
	}
	if rng.Float64() < silence {
		tp.outcome = sim.DropNotify
	}
	return tp
}

var (
	payForm  = regexp.MustCompile(`<form method="post" action="([^"]+)"[^>]*data-autosubmit="true"`)
	payField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// postForm posts our pay page's form (UnionPay's front-end request) to the
// provider; false when it did not get there.
func (p *person) postForm(page string) bool {
	m := payForm.FindStringSubmatch(page)
	// Only the pay form's own fields: the page's other forms (language,
	// logout) carry hidden fields of ours.
	own := page[payForm.FindStringIndex(page)[0]:]
	own = own[:strings.Index(own, "</form>")+1]
	form := url.Values{}
	for _, f := range payField.FindAllStringSubmatch(own, -1) {
		form.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.deadline)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, html.UnescapeString(m[1]), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return true
}
