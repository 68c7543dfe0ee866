package ops_test

// Probes of an outsider, or of a staff member gone bad, that the security
// suite did not try yet: each attack kept as a test with its figures.

import (
	"context"
	"fmt"
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

// setCookie is the Set-Cookie line of cookie name in a, "" when none.
func setCookie(a answer, name string) string {
	for _, h := range a.header.Values("Set-Cookie") {
		if strings.HasPrefix(h, name+"=") {
			return h
		}
	}
	return ""
}

// TestProbeCookiesAreSecureStrictAndOpsOnlyWhenServedOverHTTPS reads the
// Set-Cookie lines of the login form and of a login by hand (the jar of a
// plain-HTTP test server would not send Secure cookies back).
func TestProbeCookiesAreSecureStrictAndOpsOnlyWhenServedOverHTTPS(t *testing.T) {
	con := newConsole(t, func(cfg *handlers.Config, _ *ops.Deps) { cfg.Secure = true })
	m, pw, err := con.staff.Add(context.Background(), "probe.cookie", staff.Viewer)
	if err != nil {
		t.Fatal(err)
	}
	ag := con.agent()
	page := ag.get("/ops/login")
	loginCk := setCookie(page, "im2pay_ops_login")
	tok := csrfField.FindStringSubmatch(page.body)
	if loginCk == "" || tok == nil {
		t.Fatalf("no login cookie or CSRF field: %q", page.header.Values("Set-Cookie"))
	}
	value := strings.TrimPrefix(strings.SplitN(loginCk, ";", 2)[0], "im2pay_ops_login=")
	a := ag.do(http.MethodPost, "/ops/login", url.Values{"_csrf": {tok[1]}, "name": {m.Name}, "password": {pw}},
		"Cookie", "im2pay_ops_login="+value)
	expectRedirect(t, a, "/ops/password")
	attempts, through := 0, 0
	for _, line := range []string{loginCk, setCookie(a, "im2pay_ops")} {
		for _, want := range []string{"Path=/ops", "HttpOnly", "Secure", "SameSite=Strict"} {
			attempts++
			if !strings.Contains(line, want) {
				through++
				t.Errorf("cookie %q lacks %s", line, want)
			}
		}
		attempts++
		if strings.Contains(line, "Domain=") {
			through++
			t.Errorf("cookie %q names a Domain (sent to subdomains)", line)
		}
	}
	figures.Record(t, "security", "probe ops: staff cookie attributes over HTTPS (Path, HttpOnly, Secure, Strict, no Domain)", attempts, through)
}

// halfway are browsers stopped at each step of a login, with the CSRF
// token their step page carries (a real one: the attacker holds the
// session, they only lack the next factor).
type halfway struct {
	stage staff.Stage
	ag    *agent
	csrf  string
}

func halfLogins(t *testing.T, con *console) []halfway {
	t.Helper()
	ctx := context.Background()
	var out []halfway
	add := func(stage staff.Stage, ag *agent) {
		page := ag.get(stagePathOf(stage))
		m := csrfField.FindStringSubmatch(page.body)
		if m == nil {
			t.Fatalf("%s: no CSRF on %s (%d)", stage, stagePathOf(stage), page.status)
		}
		out = append(out, halfway{stage, ag, m[1]})
	}
	// One-time password typed, not changed yet.
	m, pw, err := con.staff.Add(ctx, "probe.half.pw", staff.Admin)
	if err != nil {
		t.Fatal(err)
	}
	ag := con.agent()
	expectRedirect(t, ag.post("/ops/login", "/ops/login", url.Values{"name": {m.Name}, "password": {pw}}), "/ops/password")
	add(staff.StageChangePassword, ag)
	// Password changed, no second factor yet.
	m, pw, err = con.staff.Add(ctx, "probe.half.enroll", staff.Admin)
	if err != nil {
		t.Fatal(err)
	}
	ag = con.agent()
	expectRedirect(t, ag.post("/ops/login", "/ops/login", url.Values{"name": {m.Name}, "password": {pw}}), "/ops/password")
	expectRedirect(t, ag.post("/ops/password", "/ops/password", url.Values{"password": {newPassword}}), "/ops/totp/enroll")
	add(staff.StageEnroll, ag)
	// Enrolled; the password right, the code not typed.
	full := loginAs(t, con, staff.Admin)
	expectRedirect(t, full.post("/ops", "/ops/logout", url.Values{}), "/ops/login?done=ops.logged_out")
	expectRedirect(t, full.post("/ops/login", "/ops/login", url.Values{"name": {full.member.Name}, "password": {full.password}}), "/ops/totp")
	add(staff.StageTOTP, full)
	return out
}

func stagePathOf(st staff.Stage) string {
	return map[staff.Stage]string{staff.StageChangePassword: "/ops/password", staff.StageEnroll: "/ops/totp/enroll",
		staff.StageTOTP: "/ops/totp", staff.StageFull: "/ops"}[st]
}

// TestProbeAHalfDoneLoginReachesNoGuardedRouteNorAnotherStep walks every
// console route (areas added later included) with a session at each step
// of the login, POSTs carrying the session's own valid CSRF token: nothing
// but the step's own page answers, and no POST does anything.
func TestProbeAHalfDoneLoginReachesNoGuardedRouteNorAnotherStep(t *testing.T) {
	con := newConsole(t)
	target, _, err := con.staff.Add(context.Background(), "probe.target", staff.Viewer)
	if err != nil {
		t.Fatal(err)
	}
	// Routes that behave the same at any step: the login form (which ends
	// the half session), logging out, the language.
	anyStep := map[string]bool{"/ops/login": true, "/ops/logout": true, "/ops/lang": true}
	attempts, through := 0, 0
	for _, h := range halfLogins(t, con) {
		own := stagePathOf(h.stage)
		for _, r := range opsRoutes(con) {
			if anyStep[r.path] || r.path == own {
				continue
			}
			path := strings.ReplaceAll(r.path, "/staff/1/", "/staff/"+target.Name+"/")
			attempts++
			var a answer
			if r.method == http.MethodGet {
				a = h.ag.get(path)
			} else {
				a = h.ag.do(http.MethodPost, path, url.Values{"_csrf": {h.csrf}, "name": {"probe.planted"}, "role": {"admin"},
					"code": {"123456"}, "password": {"planted-pass-2026!"}, "current_password": {newPassword}})
			}
			if a.status != http.StatusSeeOther || a.location() != own {
				through++
				t.Errorf("%s session: %s %s answered %d to %q, want a 303 to %s:\n%.300s", h.stage, r.method, path, a.status, a.location(), own, a.body)
			}
		}
	}
	figures.Record(t, "security", "probe ops: a half-done login (password, enroll, TOTP steps) tries every other route", attempts, through)
	ctx := context.Background()
	if _, err := con.staff.ByName(ctx, "probe.planted"); err == nil {
		t.Error("a half-done login added a staff member")
	}
	if m, _ := con.staff.ByName(ctx, target.Name); m.DisabledAt.Valid {
		t.Error("a half-done login disabled a member")
	}
	if m, _ := con.staff.ByName(ctx, "probe.half.pw"); !m.MustChangePassword {
		t.Error("a half-done login changed a password from another step")
	}
}

// wrongCode is a six-digit code none of secret's steps around now accept.
func wrongCodes(t *testing.T, secret string, now time.Time, n int) []string {
	t.Helper()
	right := map[string]bool{}
	for d := -2; d <= 2; d++ {
		c, err := staff.Code(secret, now.Add(time.Duration(d*staff.TOTPPeriod)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		right[c] = true
	}
	var out []string
	for i := 0; len(out) < n; i++ {
		if c := fmt.Sprintf("%06d", i*7919%1000000); !right[c] {
			out = append(out, c)
		}
	}
	return out
}

// TestProbeTOTPCodesCannotBeBruteForced: with the password in hand, an
// attacker types codes at the TOTP step. Each guess counts against the
// login limits of the name; past them even the right code is refused, and
// rotating addresses (straight at the service) buys nothing.
func TestProbeTOTPCodesCannotBeBruteForced(t *testing.T) {
	con := newConsole(t)
	ag := loginAs(t, con, staff.Finance)
	expectRedirect(t, ag.post("/ops", "/ops/logout", url.Values{}), "/ops/login?done=ops.logged_out")
	expectRedirect(t, ag.post("/ops/login", "/ops/login", url.Values{"name": {ag.member.Name}, "password": {ag.password}}), "/ops/totp")
	csrf := csrfField.FindStringSubmatch(ag.get("/ops/totp").body)[1]
	const guesses = staff.MaxFailsPerName + 20
	checked, throttled := 0, 0
	for _, code := range wrongCodes(t, ag.secret, con.clock.Now(), guesses) {
		a := ag.do(http.MethodPost, "/ops/totp", url.Values{"_csrf": {csrf}, "code": {code}})
		switch a.status {
		case http.StatusUnprocessableEntity:
			checked++
		case http.StatusTooManyRequests:
			throttled++
		default:
			t.Fatalf("a wrong code answered %d to %q", a.status, a.location())
		}
	}
	figures.Record(t, "security", fmt.Sprintf("probe ops: TOTP codes guessed at the code step (limit %d/h per name)", staff.MaxFailsPerName),
		guesses, max(checked-staff.MaxFailsPerName, 0))
	if checked > staff.MaxFailsPerName || throttled != guesses-checked {
		t.Fatalf("%d codes checked, %d throttled, of %d; want at most %d checked", checked, throttled, guesses, staff.MaxFailsPerName)
	}
	through := 0
	if a := ag.do(http.MethodPost, "/ops/totp", url.Values{"_csrf": {csrf}, "code": {ag.code()}}); a.status != http.StatusTooManyRequests {
		through++
		t.Errorf("the right code while throttled answered %d to %q", a.status, a.location())
	}
	if a := ag.get("/ops/audit"); a.status == http.StatusOK {
		through++
		t.Error("the console opened")
	}
	m, _ := con.staff.ByName(context.Background(), ag.member.Name)
	for i, code := range wrongCodes(t, ag.secret, con.clock.Now(), 20) {
		err := con.staff.VerifyTOTP(context.Background(), m, code, fmt.Sprintf("198.51.100.%d", i+1))
		if err == nil || !strings.Contains(err.Error(), "ops.totp.throttled") {
			through++
			t.Errorf("a code from a new address %d: %v", i, err)
		}
	}
	figures.Record(t, "security", "probe ops: the right code, the console and rotating addresses after the TOTP guess limit", 22, through)
	if n := countAudit(t, con, ag.member.Name, "login.totp_failed"); n != guesses+1 {
		t.Errorf("%d audit lines login.totp_failed, want %d (one per refused code)", n, guesses+1)
	}
}

func countAudit(t *testing.T, con *console, name, action string) int {
	t.Helper()
	var n int
	if err := con.store.DB().GetContext(context.Background(), &n,
		`SELECT count(*) FROM audit_log WHERE staff_name = $1 AND action = $2`, name, action); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestProbeAnotherMembersCodeDoesNotOpenTheConsole: a member who knows
// another's password types their own (valid) code for them.
func TestProbeAnotherMembersCodeDoesNotOpenTheConsole(t *testing.T) {
	con := newConsole(t)
	attacker := loginAs(t, con, staff.Viewer)
	victim := loginAs(t, con, staff.Finance)
	expectRedirect(t, victim.post("/ops", "/ops/logout", url.Values{}), "/ops/login?done=ops.logged_out")
	expectRedirect(t, attacker.post("/ops", "/ops/logout", url.Values{}), "/ops/login?done=ops.logged_out")
	expectRedirect(t, attacker.post("/ops/login", "/ops/login", url.Values{"name": {victim.member.Name}, "password": {victim.password}}), "/ops/totp")
	own := attacker.code()
	through := 0
	if v := victim.code(); v != own {
		if a := attacker.post("/ops/totp", "/ops/totp", url.Values{"code": {own}}); a.status != http.StatusUnprocessableEntity {
			through++
			t.Errorf("the attacker's own code for the victim answered %d to %q", a.status, a.location())
		}
	}
	figures.Record(t, "security", "probe ops: one member's valid TOTP code at another's code step", 1, through)
	// The attacker's code was not spent by that: their own login still works.
	expectRedirect(t, attacker.post("/ops/totp", "/ops/login", url.Values{"name": {attacker.member.Name}, "password": {attacker.password}}), "/ops/totp")
	expectRedirect(t, attacker.post("/ops/totp", "/ops/totp", url.Values{"code": {own}}), "/ops")
}

// TestProbeASecondFactorCannotBePlantedAfterEnrollment: a logged-in
// session (a stolen one, say) tries to enroll an authenticator of its own,
// by the pages and straight at the service; and two browsers at the enroll
// step of one member race to enroll two secrets.
func TestProbeASecondFactorCannotBePlantedAfterEnrollment(t *testing.T) {
	con := newConsole(t)
	ctx := context.Background()
	ag := loginAs(t, con, staff.Finance)
	before, _ := con.staff.ByName(ctx, ag.member.Name)
	attempts, through := 0, 0
	attempts++
	if a := ag.get("/ops/totp/enroll"); a.status != http.StatusSeeOther || a.location() != "/ops" {
		through++
		t.Errorf("the enroll page for an enrolled session: %d to %q", a.status, a.location())
	}
	planted, err := con.staff.NewEnrollment(before)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := staff.Code(planted.Secret, con.clock.Now())
	attempts++
	if a := ag.post("/ops", "/ops/totp/enroll", url.Values{"code": {code}, "secret": {planted.Secret}}); a.status != http.StatusSeeOther || a.location() != "/ops" {
		through++
		t.Errorf("an enroll POST from a logged-in session: %d to %q", a.status, a.location())
	}
	attempts++
	if err := con.staff.ConfirmEnrollment(ctx, before, planted.Secret, code, "192.0.2.1"); err == nil {
		through++
		t.Error("the service enrolled a second secret")
	}
	if after, _ := con.staff.ByName(ctx, ag.member.Name); after.TOTPSecret != before.TOTPSecret {
		through++
		t.Error("the member's TOTP secret changed")
	}

	// Two browsers at the enroll step of one new member: the first to
	// confirm wins; the other's secret is refused, even with a right code.
	m, pw, err := con.staff.Add(ctx, "probe.twin", staff.Finance)
	if err != nil {
		t.Fatal(err)
	}
	first := con.agent()
	expectRedirect(t, first.post("/ops/login", "/ops/login", url.Values{"name": {m.Name}, "password": {pw}}), "/ops/password")
	expectRedirect(t, first.post("/ops/password", "/ops/password", url.Values{"password": {newPassword}}), "/ops/totp/enroll")
	second := con.agent()
	expectRedirect(t, second.post("/ops/login", "/ops/login", url.Values{"name": {m.Name}, "password": {newPassword}}), "/ops/totp/enroll")
	secrets := make([]string, 2)
	for i, b := range []*agent{first, second} {
		sm := secretText.FindStringSubmatch(b.get("/ops/totp/enroll").body)
		if sm == nil {
			t.Fatal("no secret on the enroll page")
		}
		secrets[i], b.secret = sm[1], sm[1]
	}
	if secrets[0] == secrets[1] {
		t.Fatal("two sessions were shown one secret")
	}
	expectRedirect(t, first.post("/ops/totp/enroll", "/ops/totp/enroll", url.Values{"code": {first.code()}}), "/ops")
	attempts++
	if a := second.post("/ops/totp/enroll", "/ops/totp/enroll", url.Values{"code": {second.code()}}); a.status == http.StatusSeeOther && a.location() == "/ops" {
		through++
		t.Error("a second browser enrolled a second secret")
	}
	if got, _ := con.staff.ByName(ctx, m.Name); got.TOTPSecret != secrets[0] {
		through++
		t.Error("the secret enrolled is not the first browser's")
	}
	figures.Record(t, "security", "probe ops: planting a second TOTP secret after enrollment (pages, service, two browsers)", attempts, through)
}

// TestProbeNoNextParameterRedirectsOffSite: the login ignores next=, and
// the language switch's next= stays on the console, whatever is typed.
func TestProbeNoNextParameterRedirectsOffSite(t *testing.T) {
	con := newConsole(t)
	ag := loginAs(t, con, staff.Viewer)
	expectRedirect(t, ag.post("/ops", "/ops/logout", url.Values{}), "/ops/login?done=ops.logged_out")
	attempts, through := 0, 0
	offSite := func(what, loc string) {
		attempts++
		u, err := url.Parse(loc)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(loc, "/") ||
			strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") || strings.ContainsAny(loc, "\r\n\t") {
			through++
			t.Errorf("%s redirects to %q", what, loc)
		}
	}
	evil := []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "/ops\\..\\\\evil.example",
		"/ops\r\nLocation: https://evil.example", "\t//evil.example", "/ops/..//evil.example", "/%2f%2fevil.example",
		"https:evil.example", "javascript:alert(1)", "/ops@evil.example", " /ops", "／／evil.example"}
	for _, next := range evil {
		a := ag.post("/ops/login", "/ops/login?next="+url.QueryEscape(next),
			url.Values{"name": {ag.member.Name}, "password": {ag.password}, "next": {next}})
		offSite("login with next="+next, a.location())
		if a.location() != "/ops/totp" {
			t.Errorf("login with next=%q went to %q", next, a.location())
		}
		a = ag.post("/ops/totp", "/ops/lang", url.Values{"lang": {"en"}, "next": {next}})
		offSite("language switch with next="+next, a.location())
		// Back to the login form for the next round.
		expectRedirect(t, ag.post("/ops/totp", "/ops/logout", url.Values{}), "/ops/login?done=ops.logged_out")
	}
	figures.Record(t, "security", "probe ops: off-site next= on the login and the language switch", attempts, through)
}

// normalised is a login answer's body with what differs by nature (the
// name typed back, the CSRF token) taken out.
func normalised(body, name string) string {
	body = strings.ReplaceAll(body, name, "NAME")
	body = strings.ReplaceAll(body, strings.ToLower(name), "NAME")
	return regexp.MustCompile(`[A-Za-z0-9_-]{43}`).ReplaceAllString(body, "TOKEN")
}

// TestProbeUnknownDisabledAndWrongPasswordAnswerAlike: a name guessed at
// the login learns nothing from the answer: status, page and cookies are
// the same for an unknown name, a disabled member and a wrong password.
func TestProbeUnknownDisabledAndWrongPasswordAnswerAlike(t *testing.T) {
	con := newConsole(t)
	ctx := context.Background()
	known, _, err := con.staff.Add(ctx, "probe.knwn1", staff.Finance)
	if err != nil {
		t.Fatal(err)
	}
	gone, pw, err := con.staff.Add(ctx, "probe.gone1", staff.Finance)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := con.staff.Disable(ctx, gone.Name); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		status  int
		body    string
		cookies string
	}
	try := func(name, password string) seen {
		a := con.agent().post("/ops/login", "/ops/login", url.Values{"name": {name}, "password": {password}})
		var names []string
		for _, h := range a.header.Values("Set-Cookie") {
			names = append(names, strings.SplitN(h, "=", 2)[0])
		}
		return seen{a.status, normalised(a.body, name), strings.Join(names, ",")}
	}
	base := try("probe.ghst1", "some-password-2026")
	attempts, through := 0, 0
	for what, got := range map[string]seen{
		"a wrong password":                       try(known.Name, "some-password-2026"),
		"a disabled member's right password":     try(gone.Name, pw),
		"a disabled member's wrong password":     try(gone.Name, "some-password-2026"),
		"an unknown name in upper case":          try("PROBE.GHST2", "some-password-2026"),
		"the known name in upper case, wrong pw": try(strings.ToUpper(known.Name), "some-password-2026"),
	} {
		attempts++
		if got.status != base.status || got.cookies != base.cookies {
			through++
			t.Errorf("%s: %d %q, an unknown name: %d %q", what, got.status, got.cookies, base.status, base.cookies)
		}
		if got.body != base.body {
			through++
			t.Errorf("%s: the page differs from an unknown name's", what)
		}
	}
	figures.Record(t, "security", "probe ops: login answers of unknown, disabled and wrong-password names compared", attempts, through)
}

// TestProbeHostileTextInTheAuditLogIsShownAsText: what an outsider types
// (a login name), a denied staff member's path and the audit page's own
// search end up on the audit page, escaped; each denied action's line
// says who and from where.
func TestProbeHostileTextInTheAuditLogIsShownAsText(t *testing.T) {
	con := newConsole(t)
	const script = `<script>alert(1)</script>`
	const attr = `"><img src=x onerror=alert(2)>`
	out := con.agent()
	a := out.post("/ops/login", "/ops/login", url.Values{"name": {script}, "password": {"x"}})
	expectStatus(t, a, http.StatusUnprocessableEntity)
	viewer := loginAs(t, con, staff.Viewer)
	denied := viewer.post("/ops", "/ops/staff/"+url.PathEscape(attr)+"/disable", url.Values{})
	expectStatus(t, denied, http.StatusForbidden)
	page := viewer.get("/ops/audit?staff=" + url.QueryEscape(attr) + "&action=" + url.QueryEscape(script))
	expectStatus(t, page, http.StatusOK)
	all := viewer.get("/ops/audit")
	attempts, through := 0, 0
	for _, p := range []answer{a, denied, page, all} {
		for _, raw := range []string{"<script>alert", "<img src=x"} {
			attempts++
			if strings.Contains(p.body, raw) {
				through++
				t.Errorf("a page holds %q unescaped", raw)
			}
		}
	}
	attempts++
	if !strings.Contains(all.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		through++
		t.Error("the outsider's login name is not on the audit page as text")
	}
	figures.Record(t, "security", "probe ops: script and attribute injection through the audit log", attempts, through)

	var line struct {
		StaffID  *int64 `db:"staff_id"`
		Name     string `db:"staff_name"`
		ClientIP string `db:"client_ip"`
		Detail   string `db:"detail"`
	}
	if err := con.store.DB().GetContext(context.Background(), &line, `SELECT staff_id, staff_name, client_ip, detail
		FROM audit_log WHERE action = 'denied' ORDER BY id DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if line.StaffID == nil || *line.StaffID != viewer.member.ID || line.Name != viewer.member.Name || line.ClientIP == "" ||
		!strings.Contains(line.Detail, "POST /ops/staff/") || !strings.Contains(line.Detail, string(staff.ManageStaff)) {
		t.Errorf("the denied line is %+v, want who (id and name), where, what", line)
	}
}

// TestProbeMalformedTextNeverBreaksTheLoginOrTheAuditPage: a NUL, bytes
// that are not UTF-8, and a name whose 64th byte splits a character must
// be a refusal like any other, never a 500 (an error page where the attempt
// and its audit line are lost).
func TestProbeMalformedTextNeverBreaksTheLoginOrTheAuditPage(t *testing.T) {
	con := newConsole(t)
	viewer := loginAs(t, con, staff.Viewer)
	attempts, through := 0, 0
	for _, name := range []string{"a\x00b", "\xff\xfe", strings.Repeat("a", 63) + "é", strings.Repeat("名", 40)} {
		attempts++
		a := con.agent().post("/ops/login", "/ops/login", url.Values{"name": {name}, "password": {"whatever-2026"}})
		if a.status >= 500 || a.status == http.StatusSeeOther {
			through++
			t.Errorf("login name %q answered %d", name, a.status)
		}
	}
	for _, q := range []string{"staff=%00", "staff=%ff%fe", "action=" + strings.Repeat("a", 63) + "%C3%A9", "object_id=" + strings.Repeat("%E5%90%8D", 50)} {
		attempts++
		if a := viewer.get("/ops/audit?" + q); a.status >= 500 {
			through++
			t.Errorf("audit search %q answered %d", q, a.status)
		}
	}
	figures.Record(t, "security", "probe ops: NUL, invalid UTF-8 and split characters in the login and the audit search", attempts, through)
}
