package ops_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"im2pay/staff"
)

func TestStaffLogsInWithPasswordChangeAndTOTPThenAgainWithACode(t *testing.T) {
	con := newConsole(t)
	ag := loginAs(t, con, staff.Viewer)
	page := ag.get("/ops")
	expectStatus(t, page, 200)
	expectContains(t, page, `data-testid="ops-dashboard"`, ag.member.Name)

	expectRedirect(t, ag.post("/ops", "/ops/logout", url.Values{}), "/ops/login?done=ops.logged_out")
	expectRedirect(t, ag.get("/ops"), "/ops/login")

	expectRedirect(t, ag.post("/ops/login", "/ops/login", url.Values{"name": {ag.member.Name}, "password": {ag.password}}), "/ops/totp")
	expectRedirect(t, ag.post("/ops/totp", "/ops/totp", url.Values{"code": {ag.code()}}), "/ops")
	expectStatus(t, ag.get("/ops"), 200)
}

var oneTimeShown = regexp.MustCompile(`data-testid="staff-password">([A-Za-z0-9]{20})<`)

func TestAnAdminAddsAMemberWhoseOneTimePasswordIsShownOnceAndLogsIn(t *testing.T) {
	con := newConsole(t)
	admin := loginAs(t, con, staff.Admin)
	a := admin.post("/ops/staff", "/ops/staff", url.Values{"name": {"Newcomer"}, "role": {"finance"}})
	expectStatus(t, a, http.StatusOK)
	m := oneTimeShown.FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("no one-time password shown:\n%.3000s", a.body)
	}
	if strings.Contains(admin.get("/ops/staff").body, m[1]) {
		t.Error("the one-time password is shown a second time")
	}
	expectStatus(t, admin.post("/ops/staff", "/ops/staff", url.Values{"name": {"newcomer"}, "role": {"viewer"}}), http.StatusUnprocessableEntity)
	expectStatus(t, admin.post("/ops/staff", "/ops/staff", url.Values{"name": {"9lives"}, "role": {"viewer"}}), http.StatusUnprocessableEntity)

	ag := con.agent()
	expectRedirect(t, ag.post("/ops/login", "/ops/login", url.Values{"name": {"newcomer"}, "password": {m[1]}}), "/ops/password")
	// Finance may not manage staff: the page is refused, and the nav does not offer it.
	full := loginAs(t, con, staff.Finance)
	expectStatus(t, full.get("/ops/staff"), http.StatusForbidden)
	if strings.Contains(full.get("/ops").body, `href="/ops/staff"`) {
		t.Error("the navigation offers staff accounts to finance")
	}
}
