package ops_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"im2pay/staff"
)

// personAgent registers a person through the site's own form: the agent
// holds their logged-in session.
func personAgent(t *testing.T, con *console, name string) *agent {
	t.Helper()
	ag := con.agent()
	reg := ag.get("/register")
	m := csrfField.FindStringSubmatch(reg.body)
	if m == nil {
		t.Fatal("no CSRF field on /register")
	}
	a := ag.do(http.MethodPost, "/register", url.Values{"_csrf": {m[1]}, "username": {name}, "password": {"a good long passphrase 7"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("register %s: %d", name, a.status)
	}
	expectStatus(t, ag.get("/account"), http.StatusOK)
	return ag
}

func TestEveryViewOfAPersonIsAuditedAndLinksToTheirOrders(t *testing.T) {
	con, pay, _ := payConsole(t)
	u := registered(t, con, "viewed_person")
	o := startOrder(t, pay, u.ID, "wechat", "30.00", "ops-person-key-000001")
	v := loginAs(t, con, staff.Viewer)

	// The lookup by name, then by id, leads to the page.
	expectRedirect(t, v.get("/ops/people?who=viewed_person"), "/ops/people/"+itoa(int(u.ID)))
	expectRedirect(t, v.get("/ops/people?who="+itoa(int(u.ID))), "/ops/people/"+itoa(int(u.ID)))
	a := v.get("/ops/people/" + itoa(int(u.ID)))
	expectStatus(t, a, http.StatusOK)
	expectContains(t, a, `data-testid="ops-person-name">viewed_person<`, `href="/ops/orders/`+o.OutTradeNo+`"`)
	// A viewer may neither adjust nor end sessions: neither is offered.
	if strings.Contains(a.body, "ops-person-adjust") || strings.Contains(a.body, "ops-person-end-sessions") {
		t.Fatal("a viewer is offered an action of another role")
	}
	v.get("/ops/people/" + itoa(int(u.ID)))
	lines := auditLines(t, con, "person.view")
	if len(lines) != 2 || lines[0].ObjectID != itoa(int(u.ID)) || lines[0].StaffName != v.member.Name || lines[0].ObjectKind != "user" {
		t.Fatalf("person.view lines: %+v", lines)
	}

	// Finance is offered the adjustment of this person.
	fin := loginAs(t, con, staff.Finance)
	expectContains(t, fin.get("/ops/people/"+itoa(int(u.ID))), `href="/ops/adjustments?user=viewed_person"`, "调整余额")
	fin.header.Set("Accept-Language", "en")
	expectContains(t, fin.get("/ops/people/"+itoa(int(u.ID))), "Adjust balance")

	// Nobody by that name: the form says so, in the staff's language.
	a = v.get("/ops/people?who=nobody_here")
	expectStatus(t, a, http.StatusUnprocessableEntity)
	expectContains(t, a, "没有这个用户。")
	v.header.Set("Accept-Language", "en")
	expectContains(t, v.get("/ops/people?who=%27%20OR%201%3D1"), "No such person.")
}

func TestEndingAPersonsSessionsSendsTheirNextRequestToTheLogin(t *testing.T) {
	con, _, _ := payConsole(t)
	user := personAgent(t, con, "hijacked_person")
	u, err := con.accounts.UserByName(t.Context(), "hijacked_person")
	if err != nil {
		t.Fatal(err)
	}
	page := "/ops/people/" + itoa(int(u.ID))
	op := loginAs(t, con, staff.Operator)
	expectContains(t, op.get(page), `data-testid="ops-person-session"`, `action="/ops/people/`+itoa(int(u.ID))+`/sessions/end"`)

	// A viewer may not.
	v := loginAs(t, con, staff.Viewer)
	token := csrfField.FindStringSubmatch(v.get("/ops").body)[1]
	expectStatus(t, v.do(http.MethodPost, page+"/sessions/end", url.Values{"_csrf": {token}}), http.StatusForbidden)
	expectStatus(t, user.get("/account"), http.StatusOK)

	a := op.post(page, page+"/sessions/end", url.Values{})
	expectRedirect(t, a, page+"?ended=1")
	expectContains(t, op.get(a.location()), `data-testid="ops-person-ended"`, "已结束 1 个会话。")
	if a := user.get("/account"); a.status != http.StatusSeeOther || !strings.HasPrefix(a.location(), "/login") {
		t.Fatalf("the person's next request: %d to %q, want the login", a.status, a.location())
	}
	lines := auditLines(t, con, "person.end_sessions")
	if len(lines) != 1 || lines[0].StaffName != op.member.Name || lines[0].ObjectID != itoa(int(u.ID)) ||
		string(lines[0].Before) != `{"sessions": 1}` && string(lines[0].Before) != `{"sessions":1}` {
		t.Fatalf("end sessions line: %+v before %s", lines, lines[0].Before)
	}
}

func TestATamperedPersonIDIsTheConsoles404(t *testing.T) {
	con, _, _ := payConsole(t)
	op := loginAs(t, con, staff.Operator)
	token := csrfField.FindStringSubmatch(op.get("/ops").body)[1]
	for _, id := range []string{"999999999", "0", "-1", "01", "abc", "1e3", "9223372036854775808", "%20"} {
		a := op.get("/ops/people/" + id)
		expectStatus(t, a, http.StatusNotFound)
		expectContains(t, a, `data-testid="ops-not-found"`)
		expectStatus(t, op.do(http.MethodPost, "/ops/people/"+id+"/sessions/end", url.Values{"_csrf": {token}}), http.StatusNotFound)
	}
	if n := len(auditLines(t, con, "person.end_sessions")) + len(auditLines(t, con, "person.view")); n != 0 {
		t.Fatalf("%d audit lines about people who do not exist", n)
	}
}
