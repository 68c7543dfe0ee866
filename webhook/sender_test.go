package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"im2pay/account"
	"im2pay/apidoc"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/spend"
	"im2pay/wallet"
	"im2pay/webhook"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var secret = []byte("whsec-test-0123456789abcdef0123456789")

// receiver is the IM backend's end as a test: it verifies every delivery,
// keeps the first copy of each event, and answers fail while it is set.
type receiver struct {
	mu      sync.Mutex
	fail    bool
	now     func() time.Time
	badSigs int
	// undocumented lists deliveries that break the OpenAPI document.
	undocumented []string
	copies       map[string]int
	received     []webhook.Event // first copies, in arrival order
	srv          *httptest.Server
}

func newReceiver(t *testing.T, now func() time.Time) *receiver {
	r := &receiver{copies: map[string]int{}, now: now}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := webhook.Verify(secret, req.Header.Get(webhook.HeaderTimestamp), req.Header.Get(webhook.HeaderSignature),
			body, r.now(), 5*time.Minute); err != nil {
			r.badSigs++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if r.fail {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		var e webhook.Event
		if err := json.Unmarshal(body, &e); err != nil || e.ID != req.Header.Get(webhook.HeaderID) {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		// What the API document promises the backend.
		if err := documented(body); err != nil {
			r.undocumented = append(r.undocumented, err.Error())
		}
		if r.copies[e.ID]++; r.copies[e.ID] == 1 {
			r.received = append(r.received, e)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setFailing(on bool) {
	r.mu.Lock()
	r.fail = on
	r.mu.Unlock()
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type world struct {
	store    *db.Store
	accounts *account.Service
	wallet   *wallet.Service
	spend    *spend.Service
	clock    *clock
	rcv      *receiver
}

func newWorld(t *testing.T, enabled bool) *world {
	conn := dbtest.New(t)
	store := db.New(conn)
	if err := store.SetWebhooksEnabled(context.Background(), enabled); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	a := account.NewService(store, account.Options{
		Hasher: account.PasswordHasher{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32}, Now: c.now})
	w := wallet.NewService(store, wallet.Options{Accounts: a, Now: c.now})
	sp := spend.NewService(store, spend.Options{Accounts: a, Now: c.now})
	return &world{store: store, accounts: a, wallet: w, spend: sp, clock: c, rcv: newReceiver(t, c.now)}
}

// sender is a fresh sender, as a freshly started instance would build.
func (w *world) sender() *webhook.Sender {
	return &webhook.Sender{Store: w.store, URL: w.rcv.srv.URL, Secret: secret, Now: w.clock.now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func (w *world) user(t *testing.T, name string, grant wallet.Money) account.User {
	u, err := w.accounts.Register(context.Background(), name, "webhook-Secret-2026", "203.0.113.1")
	if err != nil {
		t.Fatal(err)
	}
	if grant > 0 {
		if _, err := w.wallet.Grant(context.Background(), u.ID, grant, "grant:"+name, "welcome_grant"); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

func (w *world) charge(t *testing.T, user string, fen wallet.Money, key string) {
	if _, err := w.spend.ChargeUser(context.Background(), spend.ChargeRequest{User: user, Amount: fen,
		Reason: "priority_message", Key: key}); err != nil {
		t.Fatal(err)
	}
}

func TestEveryBalanceChangeArrivesSignedInOrderOnceDeliveredAcrossARestart(t *testing.T) {
	w := newWorld(t, true)
	ctx := context.Background()
	w.user(t, "ann_wh", 50_00)
	w.user(t, "ben_wh", 20_00)
	for i, fen := range []wallet.Money{1_00, 2_50, 10} {
		w.charge(t, "ann_wh", fen, "ann-charge-"+string(rune('a'+i)))
	}
	w.charge(t, "ben_wh", 3_00, "ben-charge-a")

	// The receiver is down: nothing is delivered, every event waits.
	w.rcv.setFailing(true)
	if n, err := w.sender().Pass(ctx); err != nil || n != 0 {
		t.Fatalf("delivered %d (%v) to a receiver that is down", n, err)
	}
	// The app restarts (a new sender on the same database); the receiver
	// is back; the first retry falls due 30 s later on the app's clock.
	w.rcv.setFailing(false)
	w.clock.add(10 * time.Second)
	if n, _ := w.sender().Pass(ctx); n != 0 {
		t.Fatalf("delivered %d before the retry was due", n)
	}
	w.clock.add(25 * time.Second)
	if n, err := w.sender().Pass(ctx); err != nil || n != 6 {
		t.Fatalf("delivered %d (%v) after the restart, want 6", n, err)
	}

	w.rcv.mu.Lock()
	defer w.rcv.mu.Unlock()
	if w.rcv.badSigs != 0 {
		t.Fatalf("%d deliveries failed their signature", w.rcv.badSigs)
	}
	if len(w.rcv.undocumented) > 0 {
		t.Fatalf("deliveries break the OpenAPI document's BalanceEvent: %v", w.rcv.undocumented)
	}
	// Each user's events replay their balance exactly, in order.
	balance := map[string]int64{}
	types := map[string][]string{}
	for _, e := range w.rcv.received {
		if balance[e.User]+e.AmountFen != e.BalanceFen {
			t.Fatalf("%s: %+d from %d should be %d, event says %d (out of order or wrong)", e.ID, e.AmountFen,
				balance[e.User], balance[e.User]+e.AmountFen, e.BalanceFen)
		}
		balance[e.User] = e.BalanceFen
		types[e.User] = append(types[e.User], e.Type)
	}
	if balance["ann_wh"] != 50_00-1_00-2_50-10 || balance["ben_wh"] != 20_00-3_00 {
		t.Fatalf("final balances %v", balance)
	}
	if len(types["ann_wh"]) != 4 || types["ann_wh"][0] != "grant.credited" || types["ann_wh"][3] != "charge.paid" {
		t.Fatalf("ann's event types %v", types["ann_wh"])
	}
}

func TestAUserWhoseEventFailsHoldsBackOnlyTheirOwn(t *testing.T) {
	w := newWorld(t, true)
	ctx := context.Background()
	w.user(t, "cat_wh", 10_00)
	// The receiver refuses cat's first event once; dan's flow meanwhile.
	w.rcv.setFailing(true)
	if n, _ := w.sender().Pass(ctx); n != 0 {
		t.Fatal("delivered to a failing receiver")
	}
	w.rcv.setFailing(false)
	w.user(t, "dan_wh", 5_00)
	w.charge(t, "cat_wh", 1_00, "cat-charge")
	if n, _ := w.sender().Pass(ctx); n != 1 {
		t.Fatalf("delivered %d, want dan's grant alone (cat's wait behind their failed first)", n)
	}
	w.clock.add(31 * time.Second)
	if n, _ := w.sender().Pass(ctx); n != 2 {
		t.Fatalf("delivered %d, want cat's two in order", n)
	}
	w.rcv.mu.Lock()
	defer w.rcv.mu.Unlock()
	var order []string
	for _, e := range w.rcv.received {
		order = append(order, e.User+":"+e.Type)
	}
	want := []string{"dan_wh:grant.credited", "cat_wh:grant.credited", "cat_wh:charge.paid"}
	if len(order) != 3 || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] {
		t.Fatalf("arrival order %v, want %v", order, want)
	}
}

func TestRetriesStopAfterADayAndAResendStartsAgain(t *testing.T) {
	w := newWorld(t, true)
	ctx := context.Background()
	w.user(t, "eve_wh", 1_00)
	w.rcv.setFailing(true)
	passes := 0
	for ; passes < 100; passes++ {
		w.sender().Pass(ctx)
		w.clock.add(time.Hour)
		pending, err := w.store.WebhookEvents(ctx, true, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) == 1 && pending[0].GivenUpAt.Valid {
			break
		}
	}
	events, _ := w.store.WebhookEvents(ctx, true, 10)
	if len(events) != 1 || !events[0].GivenUpAt.Valid {
		t.Fatalf("not given up after %d hourly passes: %+v", passes, events)
	}
	if h := events[0].GivenUpAt.Time.Sub(events[0].FirstAttemptAt.Time); h < 23*time.Hour || h > 25*time.Hour {
		t.Fatalf("gave up %v after the first try, want about a day", h)
	}
	attempts := events[0].Attempts
	// Given up: no more tries.
	w.sender().Pass(ctx)
	if again, _ := w.store.WebhookEvents(ctx, true, 10); again[0].Attempts != attempts {
		t.Fatal("a given-up event was tried again")
	}
	// An operator resends it once the receiver is fixed.
	w.rcv.setFailing(false)
	if err := w.store.ResendWebhookEvent(ctx, events[0].EventID); err != nil {
		t.Fatal(err)
	}
	if n, _ := w.sender().Pass(ctx); n != 1 {
		t.Fatalf("resend delivered %d", n)
	}
	if err := w.store.ResendWebhookEvent(ctx, "evt_nope"); err == nil {
		t.Fatal("resent an unknown event")
	}
}

func TestWithWebhooksOffNothingIsRecorded(t *testing.T) {
	w := newWorld(t, false)
	w.user(t, "fay_wh", 1_00)
	events, err := w.store.WebhookEvents(context.Background(), false, 10)
	if err != nil || len(events) != 0 {
		t.Fatalf("%d events recorded with webhooks off (%v)", len(events), err)
	}
}

func TestAForgedOrReplayedDeliveryFailsVerification(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	body := []byte(`{"id":"evt_1","type":"charge.paid","user":"a","amount_fen":-100,"balance_fen":0}`)
	ts := now.Unix()
	sig := webhook.Sign(secret, ts, body)
	stamp := func(t int64) string { return strconv.FormatInt(t, 10) }
	if err := webhook.Verify(secret, stamp(ts), sig, body, now, 5*time.Minute); err != nil {
		t.Fatalf("a true delivery refused: %v", err)
	}
	tampered := []byte(`{"id":"evt_1","type":"charge.paid","user":"a","amount_fen":-1,"balance_fen":0}`)
	cases := map[string]error{
		"a changed body":           webhook.Verify(secret, stamp(ts), sig, tampered, now, 5*time.Minute),
		"another secret":           webhook.Verify([]byte("other-secret-0123456789abcdef012345"), stamp(ts), sig, body, now, 5*time.Minute),
		"a replay an hour later":   webhook.Verify(secret, stamp(ts), sig, body, now.Add(time.Hour), 5*time.Minute),
		"a moved timestamp":        webhook.Verify(secret, stamp(ts+1), sig, body, now, 5*time.Minute),
		"no signature":             webhook.Verify(secret, stamp(ts), "", body, now, 5*time.Minute),
		"a timestamp that is text": webhook.Verify(secret, "soon", sig, body, now, 5*time.Minute),
	}
	for name, err := range cases {
		if err == nil {
			t.Errorf("%s verified", name)
		}
	}
}

var (
	eventSchemaOnce sync.Once
	eventSchema     *openapi3.Schema
	eventSchemaErr  error
)

// documented checks a delivered body against the webhook the service
// API's OpenAPI document describes.
func documented(body []byte) error {
	eventSchemaOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(apidoc.OpenAPI)
		if err != nil {
			eventSchemaErr = err
			return
		}
		hook := doc.Webhooks["balanceChanged"]
		if hook == nil || hook.Post == nil {
			eventSchemaErr = errors.New("the document describes no balanceChanged webhook")
			return
		}
		eventSchema = hook.Post.RequestBody.Value.Content["application/json"].Schema.Value
	})
	if eventSchemaErr != nil {
		return eventSchemaErr
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	return eventSchema.VisitJSON(v)
}
