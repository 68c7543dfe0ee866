package ops_test

import (
	"net/url"
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
