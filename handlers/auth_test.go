package handlers_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const goodPassword = "correct-horse-42"

func TestRegisteringLogsThePersonInAndShowsAnEmptyWallet(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	expectRedirect(t, b.register("new_user", goodPassword), "/account")
	page := b.get("/account")
	expectStatus(t, page, http.StatusOK)
	expectContains(t, page, `id="balance"`, `data-fen="0"`, "¥0.00", "注册成功", "new_user")
}

func TestRegistrationRefusalsSayWhatIsWrongAndKeepTheName(t *testing.T) {
	s := newSite(t)
	s.browser().register("taken_name", goodPassword)
	cases := []struct {
		name, user, password, message string
	}{
		{"a taken name, in another letter case", "TAKEN_name", goodPassword, "该用户名已被占用"},
		{"a too short name", "ab", goodPassword, "用户名至少需要 3 个字符"},
		{"a name with other characters", "bad name!", goodPassword, "用户名只能包含字母、数字和下划线"},
		{"a too short password", "fresh_one", "short", "密码至少需要 8 个字符"},
		{"a common password", "fresh_two", "password", "密码太容易被猜到"},
		{"a password equal to the name", "fresh_three", "fresh_three", "密码太容易被猜到"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := s.browser().register(c.user, c.password)
			expectStatus(t, a, http.StatusUnprocessableEntity)
			expectContains(t, a, c.message, `value="`+c.user+`"`)
			if strings.Contains(a.body, `value="`+c.password+`"`) && c.password != c.user {
				t.Fatal("the password was echoed back into the form")
			}
		})
	}
}

func TestALongChinesePasswordWorks(t *testing.T) {
	s := newSite(t)
	// 64 runes, 192 bytes: far past bcrypt's 72-byte limit.
	pw := strings.Repeat("春眠不觉晓处处闻啼鸟夜来风雨声花", 4)
	b := s.browser()
	expectRedirect(t, b.register("han_user", pw), "/account")
	expectRedirect(t, s.browser().login("han_user", pw), "/account")
	if n := len([]rune(pw)); n != 64 {
		t.Fatalf("test password has %d runes", n)
	}
	expectStatus(t, s.browser().login("han_user", pw[:len(pw)-3]+"秋"), http.StatusUnprocessableEntity)
}

func TestAWrongPasswordAndAnUnknownNameGetTheSameAnswer(t *testing.T) {
	s := newSite(t)
	s.browser().register("alice", goodPassword)
	wrong := s.browser().login("alice", "not-the-password")
	unknown := s.browser().login("nobody_here", "not-the-password")
	for _, a := range []answer{wrong, unknown} {
		expectStatus(t, a, http.StatusUnprocessableEntity)
		expectContains(t, a, "用户名或密码错误")
	}
	expectContains(t, wrong, `value="alice"`)
}

func TestLoginGivesANewSessionIDAndLogoutKillsTheOldOne(t *testing.T) {
	s := newSite(t)
	s.browser().register("alice", goodPassword)
	b := s.browser()
	expectRedirect(t, b.login("alice", goodPassword), "/account")
	first := *b.cookie("im2pay_session")
	again := b.post("/account", "/login", url.Values{"username": {"alice"}, "password": {goodPassword}})
	expectRedirect(t, again, "/account")
	second := *b.cookie("im2pay_session")
	if first.Value == second.Value {
		t.Fatal("logging in again kept the session id")
	}
	if carries(s, first) {
		t.Fatal("the session replaced at login still works")
	}
	expectRedirect(t, b.post("/account", "/logout", url.Values{}), "/login")
	expectRedirect(t, b.get("/account"), "/login?next=%2Faccount")
	if carries(s, second) {
		t.Fatal("a copy of the cookie taken before logout still works")
	}
}

// carries reports whether a copied session cookie alone opens the account.
func carries(s *site, c http.Cookie) bool {
	other := s.browser()
	u, _ := url.Parse(s.srv.URL)
	other.client.Jar.SetCookies(u, []*http.Cookie{&c})
	return other.get("/account").status == http.StatusOK
}

func TestSessionsEndAfterIdleAndAbsoluteTimeouts(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.register("alice", goodPassword)
	s.clock.Advance(29 * time.Minute)
	expectStatus(t, b.get("/account"), http.StatusOK)
	s.clock.Advance(31 * time.Minute)
	expectRedirect(t, b.get("/account"), "/login?next=%2Faccount")

	b.login("alice", goodPassword)
	for range 12 * 4 { // active every 15 minutes, for 12 hours
		s.clock.Advance(15 * time.Minute)
		if a := b.get("/account"); a.status != http.StatusOK {
			break
		}
	}
	s.clock.Advance(15 * time.Minute)
	expectRedirect(t, b.get("/account"), "/login?next=%2Faccount")
}

func TestPagesThatNeedALoginReturnThereAfterwards(t *testing.T) {
	s := newSite(t)
	s.browser().register("alice", goodPassword)
	b := s.browser()
	expectRedirect(t, b.get("/history?kind=grant"), "/login?next=%2Fhistory%3Fkind%3Dgrant")
	page := b.get("/login?next=%2Fhistory%3Fkind%3Dgrant")
	expectContains(t, page, "请先登录", `name="next" value="/history?kind=grant"`)
	a := b.post("/login?next=%2Fhistory%3Fkind%3Dgrant", "/login",
		url.Values{"username": {"alice"}, "password": {goodPassword}, "next": {"/history?kind=grant"}})
	expectRedirect(t, a, "/history?kind=grant")
}

func TestNextNeverLeadsOffSite(t *testing.T) {
	s := newSite(t)
	s.browser().register("alice", goodPassword)
	hostile := []string{
		"https://evil.example", "//evil.example", "/\\evil.example", "\\\\evil.example", "/%2F%2Fevil.example",
		"/%5Cevil.example", "javascript:alert(1)", "http:/evil.example", "/\t/evil.example", " //evil.example",
		"%2F%2Fevil.example", "evil.example", "data:text/html,x", "/%0A/evil.example",
	}
	for _, next := range hostile {
		t.Run(next, func(t *testing.T) {
			b := s.browser()
			a := b.post("/login", "/login", url.Values{"username": {"alice"}, "password": {goodPassword}, "next": {next}})
			expectRedirect(t, a, "/account")
		})
	}
	// A NUL is refused at the edge, before the login is even tried.
	a := s.browser().post("/login", "/login", url.Values{"username": {"alice"}, "password": {goodPassword}, "next": {"/\x00"}})
	expectStatus(t, a, http.StatusBadRequest)
	expectContains(t, a, "无效字符")
}

func TestHtmxLoginGetsTheFormBackOrAnHXRedirect(t *testing.T) {
	s := newSite(t)
	s.browser().register("alice", goodPassword)
	b := s.browser()
	bad := b.post("/login", "/login", url.Values{"username": {"alice"}, "password": {"nope-nope"}}, "HX-Request", "true")
	expectStatus(t, bad, http.StatusUnprocessableEntity)
	if strings.Contains(bad.body, "<html") || !strings.Contains(bad.body, `id="login-form"`) {
		t.Fatalf("htmx refusal should be the form alone:\n%.1000s", bad.body)
	}
	good := b.post("/login", "/login", url.Values{"username": {"alice"}, "password": {goodPassword}}, "HX-Request", "true")
	if good.status != http.StatusOK || good.header.Get("HX-Redirect") != "/account" {
		t.Fatalf("htmx success = %d HX-Redirect %q", good.status, good.header.Get("HX-Redirect"))
	}
}

func TestFailedLoginsAreThrottledPerAccountWhateverTheClaimedAddress(t *testing.T) {
	s := newSite(t)
	s.browser().register("alice", goodPassword)
	b := s.browser()
	for i := range 100 {
		a := b.post("/login", "/login", url.Values{"username": {"alice"}, "password": {"wrong-guess"}},
			"X-Forwarded-For", "10.0.0."+strconv.Itoa(i))
		expectStatus(t, a, http.StatusUnprocessableEntity)
	}
	// Even the right password is refused now, and the person is told to wait.
	a := s.browser().post("/login", "/login", url.Values{"username": {"alice"}, "password": {goodPassword}},
		"X-Forwarded-For", "192.0.2.99")
	expectStatus(t, a, http.StatusTooManyRequests)
	expectContains(t, a, "请稍后再试", "60 分钟")
	s.clock.Advance(61 * time.Minute)
	expectRedirect(t, s.browser().login("alice", goodPassword), "/account")
}

func TestChangingThePasswordEndsEveryOtherSession(t *testing.T) {
	s := newSite(t)
	phone, laptop := s.browser(), s.browser()
	phone.register("alice", goodPassword)
	laptop.login("alice", goodPassword)

	wrong := phone.post("/account/password", "/account/password", url.Values{"current_password": {"not-it-at-all"}, "password": {"another-good-one"}})
	expectStatus(t, wrong, http.StatusUnprocessableEntity)
	expectContains(t, wrong, "当前密码不正确")
	weak := phone.post("/account/password", "/account/password", url.Values{"current_password": {goodPassword}, "password": {"short"}})
	expectStatus(t, weak, http.StatusUnprocessableEntity)
	expectContains(t, weak, "密码至少需要 8 个字符")
	expectStatus(t, laptop.get("/account"), http.StatusOK)

	ok := phone.post("/account/password", "/account/password", url.Values{"current_password": {goodPassword}, "password": {"another-good-one"}})
	expectRedirect(t, ok, "/account")
	expectContains(t, phone.get("/account"), "密码已修改")
	expectRedirect(t, laptop.get("/account"), "/login?next=%2Faccount")
	expectStatus(t, s.browser().login("alice", goodPassword), http.StatusUnprocessableEntity)
	expectRedirect(t, s.browser().login("alice", "another-good-one"), "/account")
}
