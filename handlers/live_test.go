package handlers_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/handlers"
	"im2pay/live"
	"im2pay/recharge"
	"im2pay/statement"
	"im2pay/wallet"
)

// liveBound is how long a test waits for an event: a bound for a hung
// test on the busiest machine, never a measure of speed.
const liveBound = 2 * time.Minute

// liveSite is site with the live balance on: a hub listening on the
// site's database.
type liveSite struct {
	*site
	hub *live.Hub
}

func newLiveSite(t *testing.T, maxPerUser int) *liveSite {
	t.Helper()
	dsn := dbtest.NewURL(t)
	conn, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetMaxOpenConns(20)
	t.Cleanup(func() { conn.Close() })
	store := db.New(conn)
	clk := &clock{now: time.Now()}
	svc, led := services(store, recharge.Options{Now: clk.Now})
	hub := live.NewHub(dsn, conn, live.Options{MaxPerUser: maxPerUser})
	svc.Live = live.NewService(store, hub)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	cfg := handlers.Config{Location: loc, IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour, Now: clk.Now,
		Logger: discardLogger()}
	srv := httptest.NewServer(handlers.New(withStatement(svc, statement.New(store, loc, clk.Now)), cfg))
	srv.Config.RegisterOnShutdown(hub.Close) // as serve does
	t.Cleanup(srv.Close)
	// Registered after srv.Close, so it runs first: open streams end with
	// the hub, and the server's Close does not wait on them.
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- hub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("hub: %v", err)
		}
	})
	select {
	case <-hub.Ready():
	case err := <-ran:
		t.Fatalf("hub stopped: %v", err)
	case <-time.After(liveBound):
		t.Fatal("hub never listened")
	}
	return &liveSite{site: &site{t: t, srv: srv, store: store, ledger: led, accounts: svc.Accounts, wallet: svc.Wallet,
		spend: svc.Spend, recharge: svc.Recharge, clock: clk}, hub: hub}
}

// sse is one server-sent event.
type sse struct{ name, data string }

// stream is an open /account/live: its events arrive on events, which is
// closed when the server ends the stream.
type stream struct {
	status int
	ctype  string
	events chan sse
	cancel context.CancelFunc
}

// open starts b's stream, with extra headers; it returns once the answer's
// head arrived. A stream that did not start has a closed events channel.
func (b *browser) open(extra ...string) *stream {
	b.s.t.Helper()
	return b.openAt(b.s.srv.URL, extra...)
}

// openAt is open on another server of the same site (cookies ignore the
// port).
func (b *browser) openAt(base string, extra ...string) *stream {
	b.s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.s.t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+handlers.LiveStreamPath, nil)
	if err != nil {
		b.s.t.Fatal(err)
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	st := &stream{status: res.StatusCode, ctype: res.Header.Get("Content-Type"), events: make(chan sse, 64), cancel: cancel}
	go func() {
		defer close(st.events)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					st.events <- ev
				}
				ev = sse{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				if ev.data != "" {
					ev.data += "\n"
				}
				ev.data += strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return st
}

// next is the stream's next event; ok is false when the stream ended.
func (st *stream) next(t *testing.T) (sse, bool) {
	t.Helper()
	select {
	case ev, ok := <-st.events:
		return ev, ok
	case <-time.After(liveBound):
		t.Fatal("no event within the bound")
	}
	return sse{}, false
}

func (st *stream) want(t *testing.T, name string, parts ...string) sse {
	t.Helper()
	ev, ok := st.next(t)
	if !ok {
		t.Fatalf("the stream ended; want %s event", name)
	}
	if ev.name != name {
		t.Fatalf("event %s %q, want %s", ev.name, ev.data, name)
	}
	for _, p := range parts {
		if !strings.Contains(ev.data, p) {
			t.Fatalf("%s event %q lacks %q", name, ev.data, p)
		}
	}
	return ev
}

// until skips events until one named name that contains part.
func (st *stream) until(t *testing.T, name, part string) sse {
	t.Helper()
	for {
		ev, ok := st.next(t)
		if !ok {
			t.Fatalf("the stream ended before a %s event with %q", name, part)
		}
		if ev.name == name && strings.Contains(ev.data, part) {
			return ev
		}
	}
}

// wantEnd waits for the server's bye and the end of the stream.
func (st *stream) wantEnd(t *testing.T) {
	t.Helper()
	for {
		ev, ok := st.next(t)
		if !ok {
			t.Fatal("the stream ended without saying bye")
		}
		if ev.name == "bye" {
			break
		}
	}
	if ev, ok := st.next(t); ok {
		t.Fatalf("event %s after bye", ev.name)
	}
}

func (s *liveSite) userID(t *testing.T, name string) int64 {
	t.Helper()
	var id int64
	if err := s.store.DB().GetContext(context.Background(), &id, `SELECT id FROM users WHERE username = $1`, name); err != nil {
		t.Fatal(err)
	}
	return id
}

func (s *liveSite) grant(t *testing.T, name string, fen wallet.Money, key string) {
	t.Helper()
	if _, err := s.wallet.Grant(context.Background(), s.userID(t, name), fen, key, "welcome_grant"); err != nil {
		t.Fatal(err)
	}
}

func TestLiveStreamCarriesTheOwnersMovementsAndNothingOfAnothers(t *testing.T) {
	s := newLiveSite(t, 0)
	alice, mallory := s.browser(), s.browser()
	expectRedirect(t, alice.register("alice_live", goodPassword), "/account")
	expectRedirect(t, mallory.register("mallory_live", goodPassword), "/account")

	page := alice.get("/account")
	expectContains(t, page, `sse-connect="/account/live"`, `data-testid="header-balance"`, `aria-live="polite"`, `data-live-mirror="balance"`)

	a, m := alice.open(), mallory.open()
	for _, st := range []*stream{a, m} {
		if st.status != http.StatusOK || !strings.HasPrefix(st.ctype, "text/event-stream") {
			t.Fatalf("stream answered %d %q", st.status, st.ctype)
		}
		st.want(t, "balance", `data-fen="0"`)
	}

	s.grant(t, "alice_live", 6800, "live-a1")
	a.want(t, "toast", "新用户欢迎礼金", "¥68.00")
	a.want(t, "balance", `data-fen="6800"`, "¥68.00")

	// Mallory's own movement comes after alice's through the one listener:
	// her first event is hers, so alice's never reached her.
	s.grant(t, "mallory_live", 100, "live-m1")
	if ev := m.want(t, "toast", "¥1.00"); strings.Contains(ev.data, "68") {
		t.Fatalf("mallory's stream showed alice's movement: %q", ev.data)
	}
	m.want(t, "balance", `data-fen="100"`)

	// The poll answers the same, for its owner only.
	expectContains(t, alice.get("/account/live/balance"), `data-fen="6800"`)
	expectContains(t, mallory.get("/account/live/balance"), `data-fen="100"`)
}

func TestLiveStreamToastsAGiftReceivedInThePersonsLanguage(t *testing.T) {
	s := newLiveSite(t, 0)
	friend, sender := s.browser(), s.browser()
	friend.header.Set("Accept-Language", "en")
	expectRedirect(t, friend.register("friend_live", goodPassword), "/account")
	expectRedirect(t, sender.register("sender_live", goodPassword), "/account")
	s.grant(t, "sender_live", 1000, "live-s1")
	f, snd := friend.open(), sender.open()
	f.want(t, "balance")
	snd.want(t, "balance", `data-fen="1000"`)

	expectStatus(t, sender.post("/gifts", "/gifts", url.Values{"to": {"friend_live"}, "gift": {"rose"}, "quantity": {"3"},
		"key": {"live-gift-key-00000001"}}), http.StatusSeeOther)
	f.want(t, "toast", "sender_live sent you Rose ×3")
	f.want(t, "balance", `data-fen="0"`)
	// The sender's stream may also tell of the grant, whose notice can
	// reach the hub after the stream subscribed: skip to the gift.
	snd.until(t, "toast", "送出礼物")
	snd.want(t, "balance", `data-fen="700"`)
}

func TestLiveStreamRefusesVisitorsAndOtherSites(t *testing.T) {
	s := newLiveSite(t, 0)
	visitor, alice := s.browser(), s.browser()
	expectRedirect(t, alice.register("alice_live2", goodPassword), "/account")
	for _, c := range []struct {
		who    *browser
		header []string
		want   int
	}{
		{visitor, nil, http.StatusUnauthorized},
		{alice, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{alice, []string{"Sec-Fetch-Site", "same-site"}, http.StatusForbidden},
		{alice, []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{alice, []string{"Origin", "null"}, http.StatusForbidden},
	} {
		st := c.who.open(c.header...)
		if st.status != c.want || strings.HasPrefix(st.ctype, "text/event-stream") {
			t.Errorf("%v: answered %d %q, want %d and no stream", c.header, st.status, st.ctype, c.want)
		}
		if _, ok := st.next(t); ok {
			t.Errorf("%v: an event on a refused stream", c.header)
		}
		if a := c.who.get("/account/live/balance", c.header...); a.status != c.want || strings.Contains(a.body, "data-fen") {
			t.Errorf("%v: the poll answered %d %.200q", c.header, a.status, a.body)
		}
	}
	// The page's own request passes.
	st := alice.open("Sec-Fetch-Site", "same-origin")
	st.want(t, "balance")
}

func TestLiveStreamEndsWithItsSession(t *testing.T) {
	s := newLiveSite(t, 0)
	phone, laptop := s.browser(), s.browser()
	expectRedirect(t, phone.register("carol_live", goodPassword), "/account")
	expectRedirect(t, laptop.login("carol_live", goodPassword), "/account")
	p, l := phone.open(), laptop.open()
	p.want(t, "balance")
	l.want(t, "balance")

	// 退出其他所有设备 from the laptop ends the phone's stream, not its own.
	expectStatus(t, laptop.post("/account/settings", "/account/sessions/end-others", url.Values{}), http.StatusSeeOther)
	p.wantEnd(t)
	s.grant(t, "carol_live", 500, "live-c1")
	l.want(t, "toast", "¥5.00")
	l.want(t, "balance", `data-fen="500"`)

	// Logging out ends the laptop's.
	expectStatus(t, laptop.post("/account", "/logout", url.Values{}), http.StatusSeeOther)
	l.wantEnd(t)
	if st := laptop.open(); st.status != http.StatusUnauthorized {
		t.Fatalf("a logged-out stream answered %d", st.status)
	}
}

func TestLiveStreamsArePerPersonCapped(t *testing.T) {
	s := newLiveSite(t, 2)
	dave, erin := s.browser(), s.browser()
	expectRedirect(t, dave.register("dave_live", goodPassword), "/account")
	expectRedirect(t, erin.register("erin_live", goodPassword), "/account")
	first := dave.open()
	first.want(t, "balance")
	dave.open().want(t, "balance")
	if st := dave.open(); st.status != http.StatusTooManyRequests {
		t.Fatalf("a third stream answered %d, want 429", st.status)
	}
	erin.open().want(t, "balance") // erin's cap is her own
	first.cancel()
	// The closed stream frees its place once the server notices the
	// client left; wait for that rather than for a time.
	deadline := time.After(liveBound)
	for s.hub.Count(s.userID(t, "dave_live")) >= 2 {
		select {
		case <-deadline:
			t.Fatal("the closed stream kept its place")
		case <-time.After(20 * time.Millisecond):
		}
	}
	dave.open().want(t, "balance")
}

func TestLiveStreamsEndOnGracefulShutdown(t *testing.T) {
	s := newLiveSite(t, 0)
	b := s.browser()
	expectRedirect(t, b.register("frank_live", goodPassword), "/account")
	st := b.open()
	st.want(t, "balance")
	ctx, cancel := context.WithTimeout(context.Background(), liveBound)
	defer cancel()
	if err := s.srv.Config.Shutdown(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatal("shutdown waited on the open stream")
		}
		t.Fatal(err)
	}
	st.wantEnd(t)
}

// The server's ReadTimeout and WriteTimeout (serve sets 15 s and 60 s) are
// for ordinary requests: a stream outlives both, its heartbeats keeping
// the write deadline ahead. The stream is opened on a second server of the
// same router with timeouts far shorter than the wait below, which is only
// a lower bound: a slow machine makes it longer, never the test wrong.
func TestLiveStreamOutlivesTheServersTimeouts(t *testing.T) {
	s := newLiveSite(t, 0)
	b := s.browser()
	expectRedirect(t, b.register("gina_live", goodPassword), "/account")
	timed := httptest.NewUnstartedServer(s.srv.Config.Handler)
	timed.Config.ReadTimeout, timed.Config.WriteTimeout = 100*time.Millisecond, 100*time.Millisecond
	timed.Start()
	t.Cleanup(timed.Close)
	st := b.openAt(timed.URL)
	t.Cleanup(st.cancel) // runs before timed.Close, which waits for the stream
	st.want(t, "balance")
	time.Sleep(500 * time.Millisecond)
	s.grant(t, "gina_live", 200, "live-g1")
	st.want(t, "toast", "¥2.00")
	st.want(t, "balance", `data-fen="200"`)
}
