package handlers_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"im2pay/handlers"
	"im2pay/internal/figures"
)

func TestSecurityTheCurrentPasswordHasTheLoginLimits(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	owner := s.browser()
	expectRedirect(t, owner.register("pwguess_q9", goodPassword), "/account")
	// Someone holding a copy of the session cookie, without the owner's
	// device cookie, guesses the current password.
	thief := owner.sessionOnly()
	token := thief.token("/account/password")
	checked, throttled := 0, 0
	for i := range 150 {
		a := thief.postToken(token, "/account/password", url.Values{"current_password": {"wrong-guess-" + strconv.Itoa(i)},
			"password": {"brand-new-Secret-77"}})
		switch a.status {
		case http.StatusUnprocessableEntity:
			checked++
		case http.StatusTooManyRequests:
			throttled++
			expectContains(t, a, "当前密码错误次数过多")
		default:
			t.Fatalf("guess %d: status %d", i, a.status)
		}
	}
	// The right password is refused too while the limit holds: otherwise
	// the limit would tell the guesser when it guessed right.
	right := thief.postToken(token, "/account/password", url.Values{"current_password": {goodPassword}, "password": {"brand-new-Secret-77"}})
	through := max(0, checked-100)
	if right.status != http.StatusTooManyRequests {
		through++
	}
	figures.Record(t, "security", "L1 wrong current passwords on /account/password past the limit of 100", 151, through)
	if checked != 100 || throttled != 50 || through != 0 {
		t.Fatalf("checked %d, throttled %d, right password answered %d; want 100 checked, 50 throttled, 429", checked, throttled, right.status)
	}

	// The owner's own browser still changes the password: its device
	// cookie goes to /account/password too, as it does to /login.
	lockedOut := 0
	a := owner.post("/account/password", "/account/password", url.Values{"current_password": {goodPassword},
		"password": {"brand-new-Secret-77"}})
	if a.status != http.StatusSeeOther {
		lockedOut++
	}
	figures.Record(t, "security", "L1b owner's own browser refused a password change after 100 wrong guesses by a session thief", 1, lockedOut)
	if lockedOut != 0 {
		t.Fatalf("the owner's browser could not change the password: %d\n%s", a.status, a.body)
	}
}

func TestSecurityConcurrentGuessesCannotOvershootTheLimit(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.browser().register("racer_q9", goodPassword)
	attacker := s.browser()
	token := attacker.token("/login")
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := range 130 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := attacker.postToken(token, "/login", url.Values{"username": {"racer_q9"}, "password": {"guess-" + strconv.Itoa(i)}})
			mu.Lock()
			statuses[a.status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	checked := statuses[http.StatusUnprocessableEntity]
	through := max(0, checked-100)
	figures.Record(t, "security", "L2 130 concurrent wrong logins: checked past the limit of 100", 130, through)
	if checked != 100 || statuses[http.StatusTooManyRequests] != 30 {
		t.Fatalf("answers %v; want 100 checked (422) and 30 refused unchecked (429)", statuses)
	}
}

func TestSecurityNobodyCanLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	owner := s.browser()
	expectRedirect(t, owner.register("lockme_q9", goodPassword), "/account")
	// The owner's browser logged in once: it holds a device cookie.
	expectRedirect(t, owner.post("/account", "/logout", url.Values{}), "/login")
	expectRedirect(t, owner.login("lockme_q9", goodPassword), "/account")
	expectRedirect(t, owner.post("/account", "/logout", url.Values{}), "/login")
	if c := owner.cookie("im2pay_device"); c != nil {
		t.Fatalf("the device cookie is sent beyond the password pages: path %q", c.Path)
	}

	attacker := s.browser()
	token := attacker.token("/login")
	for i := range 100 {
		expectStatus(t, attacker.postToken(token, "/login", url.Values{"username": {"lockme_q9"}, "password": {"nope-" + strconv.Itoa(i)}}),
			http.StatusUnprocessableEntity)
	}
	// Locked for everyone else, the right password included...
	stranger := s.browser()
	a := stranger.login("lockme_q9", goodPassword)
	expectStatus(t, a, http.StatusTooManyRequests)
	// ...but not for the browser the owner logs in from.
	through := 0
	if a := owner.login("lockme_q9", goodPassword); a.status != http.StatusSeeOther {
		through++
		t.Errorf("the owner's own browser was locked out: %d", a.status)
	}
	figures.Record(t, "security", "L3 owner's known browser locked out by 100 wrong logins of someone else", 101, through)

	// A stolen device cookie has a limit of its own: 10 guesses, then
	// refused, the right password included.
	expectRedirect(t, owner.post("/account", "/logout", url.Values{}), "/login")
	thief := owner.copyOf()
	tok := thief.token("/login")
	checked := 0
	for i := range 15 {
		if a := thief.postToken(tok, "/login", url.Values{"username": {"lockme_q9"}, "password": {"dev-" + strconv.Itoa(i)}}); a.status == http.StatusUnprocessableEntity {
			checked++
		}
	}
	right := thief.postToken(tok, "/login", url.Values{"username": {"lockme_q9"}, "password": {goodPassword}})
	devThrough := max(0, checked-10)
	if right.status != http.StatusTooManyRequests {
		devThrough++
	}
	figures.Record(t, "security", "L4 guesses with a stolen device cookie past its limit of 10", 16, devThrough)
	if devThrough != 0 {
		t.Fatalf("device cookie: %d guesses checked, then the right password answered %d", checked, right.status)
	}
}

func TestSecuritySignUpsAreLimitedPerAddress(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	made, refused := 0, 0
	for i := range 14 {
		a := s.browser().register("bulk_q9_"+strconv.Itoa(i), goodPassword)
		switch a.status {
		case http.StatusSeeOther:
			made++
		case http.StatusTooManyRequests:
			refused++
			expectContains(t, a, "此网络注册的账号过多", "分钟后再试")
		default:
			t.Fatalf("sign-up %d: status %d", i, a.status)
		}
	}
	figures.Record(t, "security", "L5 sign-ups from one address past the limit of 10 an hour", 14, max(0, made-10))
	if made != 10 || refused != 4 {
		t.Fatalf("made %d accounts, refused %d; want 10 and 4", made, refused)
	}
	// A refused name takes no place: the window is counted in accounts made.
	if n := countRows(t, s, `SELECT count(*) FROM users`); n != 10 {
		t.Fatalf("%d users, want 10", n)
	}
}

func TestSecuritySignUpsFromOneIPv6BlockShareOneLimit(t *testing.T) {
	t.Parallel()
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	s := newSite(t, func(c *handlers.Config) { c.TrustedProxies = []*net.IPNet{loopback} })
	made := 0
	for i := range 14 {
		// Each sign-up from another address of the same /64, as one host
		// stepping through its privacy addresses would.
		from := fmt.Sprintf("2001:db8:77:1::%x", i+1)
		a := s.browser().post("/register", "/register", url.Values{"username": {"v6_q9_" + strconv.Itoa(i)},
			"password": {goodPassword}}, "X-Forwarded-For", from)
		switch a.status {
		case http.StatusSeeOther:
			made++
		case http.StatusTooManyRequests:
		default:
			t.Fatalf("sign-up %d: status %d", i, a.status)
		}
	}
	figures.Record(t, "security", "L6 sign-ups rotating addresses inside one IPv6 /64 past the limit of 10", 14, max(0, made-10))
	if made != 10 {
		t.Fatalf("made %d accounts from one /64, want 10", made)
	}
	// Another /64 is another subscriber.
	expectRedirect(t, s.browser().post("/register", "/register", url.Values{"username": {"v6_q9_other"},
		"password": {goodPassword}}, "X-Forwarded-For", "2001:db8:77:2::1"), "/account")
}

func TestTheServerSaysWhenRequestsComeThroughAnUntrustedProxy(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var mu sync.Mutex
	s := newSite(t, func(c *handlers.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
	})
	b := s.browser()
	expectStatus(t, b.get("/login"), http.StatusOK)
	mu.Lock()
	quiet := !strings.Contains(buf.String(), "TRUSTED_PROXIES")
	mu.Unlock()
	if !quiet {
		t.Fatal("warned without a proxy")
	}
	for range 3 {
		expectStatus(t, b.get("/login", "X-Forwarded-For", "203.0.113.9"), http.StatusOK)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(buf.String(), "TRUSTED_PROXIES is unset"); n != 1 {
		t.Fatalf("warned %d times, want once:\n%s", n, buf.String())
	}
}

func TestInProductionALoopbackPeerCountsAsAnUntrustedProxy(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var mu sync.Mutex
	s := newSite(t, func(c *handlers.Config) {
		c.Secure = true
		c.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
	})
	// The test server's peer is 127.0.0.1, as a reverse proxy on the same
	// host would be; no forwarding header is sent.
	expectStatus(t, s.browser().get("/login"), http.StatusOK)
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), "TRUSTED_PROXIES is unset") || !strings.Contains(buf.String(), "peer 127.0.0.1") {
		t.Fatalf("no warning for a loopback peer in production:\n%s", buf.String())
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
