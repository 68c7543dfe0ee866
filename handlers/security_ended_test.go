package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"im2pay/internal/figures"
)

// held is a request sent while a table it reads is locked: it has loaded
// its session and waits, like the slow request of the probe that found
// ended sessions coming back.
type held struct {
	answer chan answer
}

// holdRequest locks table, starts send, and returns once send is waiting
// for that lock; release lets it go on. Waiting is for a condition the
// database reports, never for an amount of time.
func holdRequest(t *testing.T, s *site, table string, send func() answer) (h held, release func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.store.DB().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `LOCK TABLE `+table+` IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	h = held{answer: make(chan answer, 1)}
	go func() { h.answer <- send() }()
	const waiting = `
		SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		 WHERE c.relname = $1 AND NOT l.granted`
	for countRows(t, s, waiting, table) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	return h, func() {
		if err := tx.Rollback(); err != nil {
			t.Error(err)
		}
	}
}

// token is the CSRF token a page carries, read before anything is locked.
func (b *browser) token(page string) string {
	b.s.t.Helper()
	m := csrfField.FindStringSubmatch(b.get(page).body)
	if m == nil {
		b.s.t.Fatalf("no CSRF field on %s", page)
	}
	return m[1]
}

// postToken posts a form with a token read earlier.
func (b *browser) postToken(token, action string, form url.Values) answer {
	form.Set("_csrf", token)
	return b.do(http.MethodPost, action, form)
}

// copyOf is a second browser holding every cookie of b: a stolen session.
func (b *browser) copyOf() *browser {
	thief := b.s.browser()
	u, _ := url.Parse(b.s.srv.URL)
	thief.client.Jar.SetCookies(u, b.client.Jar.Cookies(u))
	// The device cookie lives under the password pages only.
	login, _ := url.Parse(b.s.srv.URL + "/login")
	thief.client.Jar.SetCookies(login, b.client.Jar.Cookies(login))
	return thief
}

// sessionOnly is another browser holding b's session cookie but not its
// device cookie: a session stolen without the browser.
func (b *browser) sessionOnly() *browser {
	thief := b.s.browser()
	u, _ := url.Parse(b.s.srv.URL)
	thief.client.Jar.SetCookies(u, b.client.Jar.Cookies(u))
	return thief
}

// endedAttempt is one way of ending a session while a copy of its cookie
// has a request in flight.
type endedAttempt struct {
	name string
	end  func(owner *browser, token string) // token: the owner's CSRF token, read before the lock
}

func TestSecurityASessionEndedWhileARequestHoldsItStaysDead(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	owner := funded(t, s, "owner_q9", 500_00)
	friend := s.browser()
	friend.register("friend_q9", goodPassword)
	password := goodPassword
	ends := []endedAttempt{
		{"logout", func(o *browser, tok string) {
			expectRedirect(t, o.postToken(tok, "/logout", url.Values{}), "/login")
		}},
		{"password change", func(o *browser, tok string) {
			next := "another-Secret-" + password[len(password)-2:] + "x"
			expectRedirect(t, o.postToken(tok, "/account/password",
				url.Values{"current_password": {password}, "password": {next}}), "/account")
			password = next
		}},
		{"log out everywhere else", func(o *browser, tok string) {
			expectRedirect(t, o.postToken(tok, "/account/sessions/end-others", url.Values{}), "/account/settings")
		}},
	}
	// The thief's request: each kind of in-flight request, held at a table
	// it reads after loading the session and before it would commit.
	type inflight struct {
		name, table, page string
		send              func(thief *browser, token string) answer
		movesMoney        bool
	}
	requests := []inflight{
		{"gift", "gift_items", "/gifts", func(th *browser, tok string) answer {
			return th.postToken(tok, "/gifts", url.Values{"to": {"friend_q9"}, "gift": {"rose"}, "quantity": {"1"},
				"message": {"x"}, "key": {"thief-gift-" + randomDigits(12)}})
		}, true},
		{"purchase", "user_settings", "/shop", func(th *browser, tok string) answer {
			return th.postToken(tok, "/shop/buy", url.Values{"product": {"premium_12m"}, "confirmed": {"1"},
				"price": {"108.00"}, "key": {"thief-buy-" + randomDigits(12)}})
		}, true},
		{"settings save", "user_settings", "/account/settings", func(th *browser, tok string) answer {
			return th.postToken(tok, "/account/settings", url.Values{"confirm_above": {"1"}, "low_balance": {"1"}})
		}, false},
	}
	attempts, through := 0, 0
	for round := 0; round < 2; round++ {
		for _, end := range ends {
			for _, r := range requests {
				// The owner logs in afresh on another browser: a new
				// session for the thief to copy.
				victim := s.browser()
				expectRedirect(t, victim.login("owner_q9", password), "/account")
				thief := victim.copyOf()
				thiefToken := thief.token(r.page) // the copied CSRF cookie: the victim's token too
				ownerToken := owner.token("/account/password")
				// The catalog remembers gift items; forgetting the rose
				// makes the gift read gift_items, where it is held.
				s.spend.ForgetGiftItem("rose")
				before := countRows(t, s, `SELECT count(*) FROM ledger_transactions`)
				h, release := holdRequest(t, s, r.table, func() answer { return r.send(thief, thiefToken) })
				if end.name == "logout" {
					end.end(victim, thiefToken) // the copied session logs itself out
				} else {
					end.end(owner, ownerToken)
				}
				release()
				a := <-h.answer
				attempts++
				why := ""
				if r.movesMoney && countRows(t, s, `SELECT count(*) FROM ledger_transactions`) != before {
					why = "money moved; "
				}
				if r.movesMoney && (a.status != http.StatusSeeOther || a.header.Get("Location") != "/login") {
					why += "answered " + a.header.Get("Location") + "; "
				}
				if got := thief.get("/account"); got.status != http.StatusSeeOther {
					why += "the copied cookie opened /account afterwards"
				}
				if why != "" {
					through++
					t.Errorf("%s in flight across %s: %s", r.name, end.name, why)
				}
				// The owner's own browser keeps working after its own change.
				expectStatus(t, owner.get("/account"), http.StatusOK)
			}
		}
	}
	figures.Record(t, "security", "S1 a copied session with a request in flight across logout, password change or log out everywhere", attempts, through)
}

func TestSavingASessionNeverMovesItsCreationTime(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	expectRedirect(t, b.register("anchor_q9", goodPassword), "/account")
	var first time.Time
	if err := s.store.DB().GetContext(context.Background(), &first, `SELECT created_at FROM sessions`); err != nil {
		t.Fatal(err)
	}
	// Twenty-minute steps keep the session inside its idle timeout.
	step := func() { s.clock.Advance(20 * time.Minute); expectStatus(t, b.get("/account"), http.StatusOK) }
	for range 33 { // 11 hours
		step()
	}
	// A settings save writes the session (its flash) eleven hours in.
	expectRedirect(t, b.post("/account/settings", "/account/settings", url.Values{"confirm_above": {"1"}, "low_balance": {"1"}}), "/account")
	var after time.Time
	if err := s.store.DB().GetContext(context.Background(), &after, `SELECT created_at FROM sessions`); err != nil {
		t.Fatal(err)
	}
	if !after.Equal(first) {
		t.Fatalf("created_at moved from %v to %v", first, after)
	}
	// And so the absolute timeout still counts from the login: 11:59 is
	// still in, 12:01 is out.
	step()
	step()
	s.clock.Advance(19 * time.Minute)
	expectStatus(t, b.get("/account"), http.StatusOK)
	s.clock.Advance(2 * time.Minute)
	expectRedirect(t, b.get("/account"), "/login?next=%2Faccount")
}
