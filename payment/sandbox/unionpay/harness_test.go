package unionpaysandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/sandbox/sim"
	"im2pay/payment/unionpay"
)

// keysDir holds one generated key set; each test copies it into its own
// directory, so RSA keys are generated once per run and Provision's reuse
// path is what the tests exercise.
var keysDir string

// TestMain generates the run's one key set.
func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "unionpay-sandbox-keys-")
	if err == nil {
		_, err = Provision(d, "http://127.0.0.1:9")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	keysDir = d
	code := m.Run()
	_ = os.RemoveAll(d)
	os.Exit(code)
}

func provisionDir(t testing.TB) string {
	dir := t.TempDir()
	src, dst := filepath.Join(keysDir, keyDirName), filepath.Join(dir, keyDirName)
	if err := os.Mkdir(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, e.Name()), data, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// env is one sandbox gateway, one merchant, and our notify endpoint.
type env struct {
	srv     *httptest.Server
	n       *sim.Notifier
	sb      *Sandbox
	p       *unionpay.Provider
	cfg     unionpay.Config
	dir     string
	rec     *recorder
	notify  string
	browser *http.Client // does not follow redirects
}

func newEnv(t *testing.T) *env {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e := &env{srv: srv, n: sim.NewNotifier(nil, 0.001, nil), dir: provisionDir(t), rec: &recorder{}}
	var err error
	if e.cfg, err = Provision(e.dir, srv.URL); err != nil {
		t.Fatal(err)
	}
	if e.sb, err = New(e.dir, e.n, nil); err != nil {
		t.Fatal(err)
	}
	e.sb.Routes(mux)
	if e.p, err = unionpay.New(e.cfg, srv.Client()); err != nil {
		t.Fatal(err)
	}
	e.rec.p = e.p
	ours := httptest.NewServer(e.rec)
	t.Cleanup(ours.Close)
	t.Cleanup(e.n.Close) // runs first: stop retries before the servers go
	e.notify = ours.URL + "/pay/notify/card"
	e.browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

// recorder plays our notify endpoint: it verifies, records and
// acknowledges, refusing the first refuse deliveries of each order.
type recorder struct {
	p      *unionpay.Provider
	mu     sync.Mutex
	refuse int
	tries  map[string]int
	notes  map[string][]note
	errs   []error
}

type note struct {
	payment.Notification
	at time.Time
}

// ServeHTTP is our notify endpoint.
func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	n, err := rc.p.ParseNotification(r.Context(), r.Header, body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.errs = append(rc.errs, err)
		writeAck(w, rc.p.Ack(false))
		return
	}
	if rc.tries == nil {
		rc.tries, rc.notes = map[string]int{}, map[string][]note{}
	}
	rc.tries[n.OutTradeNo]++
	if rc.tries[n.OutTradeNo] <= rc.refuse {
		writeAck(w, rc.p.Ack(false))
		return
	}
	rc.notes[n.OutTradeNo] = append(rc.notes[n.OutTradeNo], note{n, time.Now()})
	writeAck(w, rc.p.Ack(true))
}

func (rc *recorder) get(no string) ([]note, int, []error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]note(nil), rc.notes[no]...), rc.tries[no], append([]error(nil), rc.errs...)
}

// waitNotes waits until at least want notifications of no were accepted.
func (e *env) waitNotes(t *testing.T, no string, want int) []note {
	t.Helper()
	deadline := time.Now().Add(waitBound) // a hang guard, not a timing
	for {
		notes, _, errs := e.rec.get(no)
		if len(errs) > 0 {
			t.Fatalf("our endpoint refused a notification: %v", errs)
		}
		if len(notes) >= want {
			return notes
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d notifications of %s after %v, want %d", len(notes), no, waitBound, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) order(amount int64) payment.Order {
	var b [8]byte
	_, _ = rand.Read(b[:])
	no := "UP" + hex.EncodeToString(b[:])
	return payment.Order{OutTradeNo: no, Amount: amount, Currency: "CNY",
		Subject: "IM2.0 Pay 余额充值 ¥" + payment.FenToYuan(amount), Device: payment.Desktop, ClientIP: "127.0.0.1",
		ReturnURL: "http://merchant.example/recharge/orders/" + no + "/return", NotifyURL: e.notify,
		ExpiresAt: time.Now().Add(30 * time.Minute)}
}

// start calls Start and posts the form as the browser would; it returns
// the card page's absolute URL.
func (e *env) start(t *testing.T, o payment.Order) (payment.Next, string) {
	t.Helper()
	next, err := e.p.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	res, body := e.postForm(t, next.Form.Action, formValues(next.Form))
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || loc == "" {
		t.Fatalf("frontTransReq.do answered %d without redirect: %s", res.StatusCode, body)
	}
	return next, e.srv.URL + loc
}

func formValues(f *payment.FormPost) url.Values {
	v := url.Values{}
	for _, x := range f.Fields {
		v.Add(x.Name, x.Value)
	}
	return v
}

func (e *env) postForm(t *testing.T, u string, v url.Values) (*http.Response, string) {
	t.Helper()
	res, err := e.browser.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func (e *env) get(t *testing.T, u string) string {
	t.Helper()
	res, err := e.browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, res.StatusCode)
	}
	return string(body)
}

// cardForm is what a person submits on the card page.
func cardForm(card, password string, o sim.Outcome) url.Values {
	return url.Values{"accNo": {card}, "expire": {TestExpiry}, "cvn2": {TestCVN2}, "phoneNo": {TestMobile},
		"password": {password}, "smsCode": {SMSCode}, "outcome": {string(o)}}
}

var (
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]*)" data-testid="unionpay-front-notify">`)
)

// frontForm reads the front notification form off a result page, the way
// a browser would submit it (CRLF line ends, as form submission makes them).
func frontForm(page string) (string, url.Values) {
	m := actionRE.FindStringSubmatch(page)
	if m == nil {
		return "", nil
	}
	v := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(page, -1) {
		val := strings.ReplaceAll(strings.ReplaceAll(html.UnescapeString(h[2]), "\r\n", "\n"), "\n", "\r\n")
		v.Add(html.UnescapeString(h[1]), val)
	}
	return html.UnescapeString(m[1]), v
}

// offlinePair is the merchant side's provider and the sandbox over freshly
// provisioned keys, with no server between them: for fuzz targets that
// feed the one what the other signed.
func offlinePair(t testing.TB) (unionpay.Config, *unionpay.Provider, *Sandbox) {
	t.Helper()
	dir := provisionDir(t)
	cfg, err := Provision(dir, "http://127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	p, err := unionpay.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := sim.NewNotifier(nil, 0.001, nil)
	t.Cleanup(n.Close)
	sb, err := New(dir, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, p, sb
}

// writeAck sends a provider's acknowledgement as the app's notify handler
// does.
func writeAck(w http.ResponseWriter, a payment.Ack) {
	if a.ContentType != "" {
		w.Header().Set("Content-Type", a.ContentType)
	}
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
}
