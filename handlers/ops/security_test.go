package ops_test

// The attacks an outsider (or an insider with the wrong role) tries first
// on the operations console, each kept as a test with its figures.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"im2pay/handlers"
	"im2pay/handlers/ops"
	"im2pay/internal/figures"
	"im2pay/staff"
)

// auditActions are the actions of name's audit lines, oldest first.
func auditActions(t *testing.T, con *console, name string) []string {
	t.Helper()
	var out []string
	if err := con.store.DB().SelectContext(context.Background(), &out,
		`SELECT action FROM audit_log WHERE staff_name = $1 ORDER BY id`, name); err != nil {
		t.Fatal(err)
	}
	return out
}

func hasAction(actions []string, a string) bool {
	for _, x := range actions {
		if x == a {
			return true
		}
	}
	return false
}

// opsRoutes are every route registered under /ops, areas added later
// included, with their parameters filled in.
func opsRoutes(con *console) []*echoRoute {
	var out []*echoRoute
	param := regexp.MustCompile(`:[a-z_]+`)
	seen := map[string]bool{}
	for _, r := range con.echo.Routes() {
		if !(r.Path == "/ops" || strings.HasPrefix(r.Path, "/ops/")) || strings.HasSuffix(r.Path, "*") {
			continue
		}
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			continue
		}
		path := param.ReplaceAllString(r.Path, "1")
		if seen[r.Method+path] {
			continue
		}
		seen[r.Method+path] = true
		out = append(out, &echoRoute{method: r.Method, path: path})
	}
	return out
}

type echoRoute struct{ method, path string }

// loginSteps are the pages a visitor without a session may see.
var loginSteps = map[string]bool{"/ops/login": true}

func TestNoSessionAndAUserSessionOpenNoConsolePage(t *testing.T) {
	con := newConsole(t)
	user := con.agent()
	form := url.Values{"username": {"someone"}, "password": {"someone-pass-2026"}}
	reg := user.do(http.MethodGet, "/register", nil)
	m := csrfField.FindStringSubmatch(reg.body)
	if m == nil {
		t.Fatal("no CSRF field on /register")
	}
	form.Set("_csrf", m[1])
	if a := user.do(http.MethodPost, "/register", form); a.status != http.StatusSeeOther {
		t.Fatalf("register: %d", a.status)
	}
	expectStatus(t, user.get("/account"), http.StatusOK)
	// Something a console page would show, were it shown.
	loginAs(t, con, staff.Viewer)

	routes := opsRoutes(con)
	if len(routes) < 5 {
		t.Fatalf("only %d console routes found", len(routes))
	}
	attempts, through := 0, 0
	for _, who := range []struct {
		name string
		ag   *agent
	}{{"no session", con.agent()}, {"user session", user}} {
		for _, r := range routes {
			attempts++
			var a answer
			if r.method == http.MethodGet {
				a = who.ag.get(r.path)
			} else {
				a = who.ag.do(http.MethodPost, r.path, url.Values{"_csrf": {"x"}})
			}
			ok := a.status == http.StatusForbidden ||
				(a.status == http.StatusSeeOther && strings.HasPrefix(a.location(), "/ops/login")) ||
				(a.status == http.StatusOK && loginSteps[r.path] && strings.Contains(a.body, `data-testid="ops-login"`)) ||
				(a.status == http.StatusSeeOther && r.method == http.MethodPost && r.path == "/ops/logout")
			if strings.Contains(a.body, "ops-dashboard") || strings.Contains(a.body, "audit-line") || strings.Contains(a.body, "viewer.") {
				ok = false
			}
			if !ok {
				through++
				t.Errorf("%s: %s %s answered %d (to %q):\n%.500s", who.name, r.method, r.path, a.status, a.location(), a.body)
			}
		}
	}
	figures.Record(t, "security", "ops: no session and a user session try every /ops route", attempts, through)
}

func TestTheStaffCookieIsForOpsOnlyAndOpensNoPersonPage(t *testing.T) {
	con := newConsole(t)
	ag := loginAs(t, con, staff.Admin)
	tok := ag.cookie("im2pay_ops")
	if tok == nil {
		t.Fatal("no staff cookie in the jar")
	}
	attempts, through := 0, 0
	probe := func(what string, a answer) {
		attempts++
		if a.status != http.StatusSeeOther || !strings.HasPrefix(a.location(), "/login") {
			through++
			t.Errorf("%s: answered %d to %q", what, a.status, a.location())
		}
	}
	for _, p := range []string{"/account", "/history", "/recharge", "/recharge/orders", "/account/settings"} {
		probe("the staff browser on "+p, ag.get(p))
		probe("the staff token as a user cookie on "+p, con.agent().get(p, "Cookie", "im2pay_session="+tok.Value))
		probe("the staff cookie sent by hand to "+p, con.agent().get(p, "Cookie", "im2pay_ops="+tok.Value))
	}
	figures.Record(t, "security", "ops: the staff cookie tried on person pages", attempts, through)

	// The cookie's attributes keep it there: Path=/ops, HttpOnly, Strict
	// (read from the Set-Cookie of a login by hand).
	a := con.agent()
	l := a.get("/ops/login")
	m := csrfField.FindStringSubmatch(l.body)
	got := a.do(http.MethodPost, "/ops/login", url.Values{"_csrf": {m[1]}, "name": {ag.member.Name}, "password": {ag.password}})
	var set string
	for _, h := range got.header.Values("Set-Cookie") {
		if strings.HasPrefix(h, "im2pay_ops=") {
			set = h
		}
	}
	for _, want := range []string{"Path=/ops", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(set, want) {
			t.Errorf("staff cookie %q lacks %s", set, want)
		}
	}
}

func TestAWrongOrReplayedTOTPCodeIsRefused(t *testing.T) {
	con := newConsole(t)
	ag := loginAs(t, con, staff.Operator)
	expectRedirect(t, ag.post("/ops", "/ops/logout", url.Values{}), "/ops/login?done=ops.logged_out")

	expectRedirect(t, ag.post("/ops/login", "/ops/login", url.Values{"name": {ag.member.Name}, "password": {ag.password}}), "/ops/totp")
	right := ag.code()
	wrong := "000000"
	if right == wrong {
		wrong = "111111"
	}
	attempts, through := 0, 0
	a := ag.post("/ops/totp", "/ops/totp", url.Values{"code": {wrong}})
	attempts++
	if a.status != http.StatusUnprocessableEntity {
		through++
		t.Errorf("a wrong code answered %d", a.status)
	}
	expectRedirect(t, ag.get("/ops"), "/ops/totp")
	expectRedirect(t, ag.post("/ops/totp", "/ops/totp", url.Values{"code": {right}}), "/ops")

	// The same code again, in its own step and in the next (which the skew
	// still accepts for a fresh code): refused both times.
	for i, advance := range []time.Duration{0, staff.TOTPPeriod * time.Second} {
		con.clock.Advance(advance)
		from := "/ops"
		if i > 0 {
			from = "/ops/totp" // the refused code left the login at its TOTP step
		}
		expectRedirect(t, ag.post(from, "/ops/logout", url.Values{}), "/ops/login?done=ops.logged_out")
		expectRedirect(t, ag.post("/ops/login", "/ops/login", url.Values{"name": {ag.member.Name}, "password": {ag.password}}), "/ops/totp")
		a := ag.post("/ops/totp", "/ops/totp", url.Values{"code": {right}})
		attempts++
		if a.status != http.StatusUnprocessableEntity {
			through++
			t.Errorf("a replayed code %s later answered %d to %q", advance, a.status, a.location())
		}
	}
	figures.Record(t, "security", "ops: a wrong TOTP code and a replayed one", attempts, through)
	acts := auditActions(t, con, ag.member.Name)
	for _, want := range []string{"login.password", "totp.enroll", "logout", "login.totp_failed", "login", "password.change"} {
		if !hasAction(acts, want) {
			t.Errorf("no audit line %q among %q", want, acts)
		}
	}
}

func TestTheFirstLoginMustChangeThePasswordBeforeAnythingElse(t *testing.T) {
	con := newConsole(t)
	m, pw, err := con.staff.Add(context.Background(), "first.timer", staff.Admin)
	if err != nil {
		t.Fatal(err)
	}
	ag := con.agent()
	expectRedirect(t, ag.post("/ops/login", "/ops/login", url.Values{"name": {m.Name}, "password": {pw}}), "/ops/password")
	attempts, through := 0, 0
	for _, p := range []string{"/ops", "/ops/audit", "/ops/totp", "/ops/totp/enroll"} {
		attempts++
		if a := ag.get(p); a.location() != "/ops/password" {
			through++
			t.Errorf("%s before the password change: %d to %q", p, a.status, a.location())
		}
	}
	attempts++
	if a := ag.post("/ops/password", "/ops/password", url.Values{"password": {pw}}); a.status != http.StatusUnprocessableEntity {
		through++
		t.Errorf("keeping the one-time password answered %d", a.status)
	}
	figures.Record(t, "security", "ops: pages before the first-login password change", attempts, through)
	expectRedirect(t, ag.post("/ops/password", "/ops/password", url.Values{"password": {newPassword}}), "/ops/totp/enroll")
	expectRedirect(t, ag.get("/ops"), "/ops/totp/enroll")
	if _, err := con.staff.Login(context.Background(), m.Name, pw, "192.0.2.9"); err == nil {
		t.Error("the one-time password still logs in after the change")
	}
}

func TestStaffSessionsTimeOutByTheAppClock(t *testing.T) {
	con := newConsole(t)
	ag := loginAs(t, con, staff.Viewer)
	// Active every 14 minutes: alive until the 8-hour absolute limit.
	start := con.clock.Now()
	for con.clock.Now().Sub(start) < staff.AbsoluteTimeout-20*time.Minute {
		con.clock.Advance(14 * time.Minute)
		if a := ag.get("/ops"); a.status != http.StatusOK {
			t.Fatalf("%s after login, active: %d to %q", con.clock.Now().Sub(start), a.status, a.location())
		}
	}
	con.clock.Advance(14 * time.Minute)
	con.clock.Advance(14 * time.Minute)
	expectRedirect(t, ag.get("/ops"), "/ops/login")

	idle := loginAs(t, con, staff.Viewer)
	con.clock.Advance(staff.IdleTimeout + time.Second)
	expectRedirect(t, idle.get("/ops"), "/ops/login")
	figures.Record(t, "security", "ops: requests after the idle and the absolute timeout", 2, 0)
}

func TestALoginGetsANewSessionIDAtEachStep(t *testing.T) {
	con := newConsole(t)
	ag := loginAs(t, con, staff.Viewer)
	expectRedirect(t, ag.post("/ops", "/ops/logout", url.Values{}), "/ops/login?done=ops.logged_out")

	// An attacker (a staff member too) plants a cookie of theirs, a session
	// at its TOTP step, in the victim's browser before the victim logs in.
	attacker := loginAs(t, con, staff.Viewer)
	expectRedirect(t, attacker.post("/ops", "/ops/logout", url.Values{}), "/ops/login?done=ops.logged_out")
	expectRedirect(t, attacker.post("/ops/login", "/ops/login", url.Values{"name": {attacker.member.Name}, "password": {attacker.password}}), "/ops/totp")
	planted := attacker.cookie("im2pay_ops").Value
	u, _ := url.Parse(con.srv.URL + "/ops/")
	ag.client.Jar.SetCookies(u, []*http.Cookie{{Name: "im2pay_ops", Value: planted, Path: "/ops"}})

	expectRedirect(t, ag.post("/ops/login", "/ops/login", url.Values{"name": {ag.member.Name}, "password": {ag.password}}), "/ops/totp")
	afterPassword := ag.cookie("im2pay_ops").Value
	expectRedirect(t, ag.post("/ops/totp", "/ops/totp", url.Values{"code": {ag.code()}}), "/ops")
	afterTOTP := ag.cookie("im2pay_ops").Value
	attempts, through := 0, 0
	for what, tok := range map[string]string{"the planted cookie": planted, "the pre-TOTP id": afterPassword} {
		attempts++
		if tok == afterTOTP {
			through++
			t.Errorf("%s is the logged-in session's", what)
		}
		a := con.agent().get("/ops", "Cookie", "im2pay_ops="+tok)
		if a.status == http.StatusOK {
			through++
			t.Errorf("%s opens the console", what)
		}
	}
	figures.Record(t, "security", "ops: session fixation (planted and pre-TOTP ids after login)", attempts, through)
	expectStatus(t, ag.get("/ops"), http.StatusOK)
}

func TestAPOSTWithoutTheSessionsCSRFTokenIsRefused(t *testing.T) {
	con := newConsole(t)
	ag := loginAs(t, con, staff.Admin)
	other := loginAs(t, con, staff.Admin)
	otherToken := csrfField.FindStringSubmatch(other.get("/ops").body)[1]
	target, _, err := con.staff.Add(context.Background(), "csrf.target", staff.Viewer)
	if err != nil {
		t.Fatal(err)
	}
	attempts, through := 0, 0
	for what, form := range map[string]url.Values{
		"no token":          {},
		"a wrong token":     {"_csrf": {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		"another session's": {"_csrf": {otherToken}},
		"an empty token":    {"_csrf": {""}},
	} {
		for _, path := range []string{"/ops/logout", "/ops/staff/" + target.Name + "/disable"} {
			attempts++
			if a := ag.do(http.MethodPost, path, form); a.status != http.StatusForbidden {
				through++
				t.Errorf("%s on %s: %d", what, path, a.status)
			}
		}
	}
	attempts++
	if a := con.agent().do(http.MethodPost, "/ops/login", url.Values{"name": {ag.member.Name}, "password": {ag.password}}); a.status != http.StatusForbidden {
		through++
		t.Errorf("a login without the form's token: %d", a.status)
	}
	figures.Record(t, "security", "ops: POSTs without the staff session's CSRF token", attempts, through)
	expectStatus(t, ag.get("/ops"), http.StatusOK)
	if m, _ := con.staff.ByName(context.Background(), target.Name); m.DisabledAt.Valid {
		t.Error("a refused POST disabled the member")
	}
}

func TestADisabledMembersSessionDies(t *testing.T) {
	con := newConsole(t)
	admin := loginAs(t, con, staff.Admin)
	victim := loginAs(t, con, staff.Viewer)
	cli := loginAs(t, con, staff.Viewer)
	expectStatus(t, victim.get("/ops"), http.StatusOK)
	expectRedirect(t, admin.post("/ops", "/ops/staff/"+victim.member.Name+"/disable", url.Values{}), "/ops/staff?done=ops.staff.disabled")
	if _, err := con.staff.Disable(context.Background(), cli.member.Name); err != nil {
		t.Fatal(err)
	}
	through := 0
	for _, ag := range []*agent{victim, cli} {
		if a := ag.get("/ops"); a.status == http.StatusOK {
			through++
			t.Errorf("%s's session survived the disable", ag.member.Name)
		}
		if a := ag.post("/ops/login", "/ops/login", url.Values{"name": {ag.member.Name}, "password": {ag.password}}); a.status != http.StatusUnprocessableEntity {
			through++
			t.Errorf("disabled %s logged in again: %d", ag.member.Name, a.status)
		}
	}
	figures.Record(t, "security", "ops: sessions and logins of disabled members", 4, through)
	if !hasAction(auditActions(t, con, admin.member.Name), "staff.disable") {
		t.Error("no audit line for the disable")
	}
}

func TestAViewerIsRefusedAWriteAndTheRefusalIsAudited(t *testing.T) {
	con := newConsole(t)
	viewer := loginAs(t, con, staff.Viewer)
	target := loginAs(t, con, staff.Finance)
	a := viewer.post("/ops", "/ops/staff/"+target.member.Name+"/disable", url.Values{})
	through := 0
	if a.status != http.StatusForbidden || !strings.Contains(a.body, `data-testid="ops-forbidden"`) {
		through++
		t.Errorf("a viewer's disable answered %d", a.status)
	}
	figures.Record(t, "security", "ops: a viewer tries an admin action", 1, through)
	expectStatus(t, target.get("/ops"), http.StatusOK)
	if !hasAction(auditActions(t, con, viewer.member.Name), "denied") {
		t.Error("no audit line 'denied'")
	}
}

func TestOpsAllowCIDRsHidesTheConsoleFromOtherNetworks(t *testing.T) {
	outside := newConsole(t, func(_ *handlers.Config, d *ops.Deps) {
		d.AllowCIDRs = []*net.IPNet{mustCIDR(t, "10.0.0.0/8")}
	})
	through := 0
	for _, p := range []string{"/ops", "/ops/login", "/ops/audit", "/ops/nothing"} {
		if a := outside.agent().get(p); a.status != http.StatusNotFound {
			through++
			t.Errorf("%s from outside OPS_ALLOW_CIDRS: %d", p, a.status)
		}
	}
	if a := outside.agent().do(http.MethodPost, "/ops/login", url.Values{}); a.status != http.StatusNotFound {
		through++
		t.Errorf("POST /ops/login from outside: %d", a.status)
	}
	figures.Record(t, "security", "ops: requests from outside OPS_ALLOW_CIDRS", 5, through)
	expectStatus(t, outside.agent().get("/login"), http.StatusOK)

	inside := newConsole(t, func(_ *handlers.Config, d *ops.Deps) {
		d.AllowCIDRs = []*net.IPNet{mustCIDR(t, "10.0.0.0/8"), mustCIDR(t, "127.0.0.0/8"), mustCIDR(t, "::1/128")}
	})
	expectStatus(t, inside.agent().get("/ops/login"), http.StatusOK)
	loginAs(t, inside, staff.Viewer)
}

func mustCIDR(t *testing.T, s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTheAuditLogRefusesUpdateDeleteAndTruncate(t *testing.T) {
	con := newConsole(t)
	loginAs(t, con, staff.Viewer)
	through := 0
	for _, q := range []string{
		`UPDATE audit_log SET detail = 'edited'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
	} {
		if _, err := con.store.DB().ExecContext(context.Background(), q); err == nil {
			through++
			t.Errorf("%s succeeded", q)
		}
	}
	figures.Record(t, "security", "ops: UPDATE, DELETE and TRUNCATE on audit_log", 3, through)
}

func TestStaffLoginGuessesAreThrottledAndAnUnknownNameAnswersAlike(t *testing.T) {
	con := newConsole(t)
	ctx := context.Background()
	m, pw, err := con.staff.Add(ctx, "guessed", staff.Finance)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < staff.MaxFailsPerName; i++ {
		// Rotating addresses does not help: the name's count holds.
		if _, err := con.staff.Login(ctx, m.Name, "wrong-guess", fmt.Sprintf("198.51.100.%d", i%250)); err == nil {
			t.Fatal("a wrong password logged in")
		}
	}
	through := 0
	if _, err := con.staff.Login(ctx, m.Name, pw, "203.0.113.7"); err == nil || !strings.Contains(err.Error(), "ops.login.throttled") {
		through++
		t.Errorf("the right password after %d failures: %v", staff.MaxFailsPerName, err)
	}
	figures.Record(t, "security", "ops: the right password after the name's failure limit", 1, through)
	_, unknown := con.staff.Login(ctx, "nobody.here", "whatever-pass", "203.0.113.8")
	_, wrong := con.staff.Login(ctx, "guessed2", "whatever-pass", "203.0.113.8")
	if unknown == nil || wrong == nil || unknown.Error() != wrong.Error() {
		t.Errorf("unknown name %v, other unknown %v", unknown, wrong)
	}
	con.clock.Advance(staff.ThrottleWindow + time.Minute)
	if _, err := con.staff.Login(ctx, m.Name, pw, "203.0.113.7"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}
