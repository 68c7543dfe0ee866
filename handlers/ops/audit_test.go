package ops_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"im2pay/audit"
	"im2pay/staff"
)

func TestTheAuditPageFiltersAndPagesByKeyset(t *testing.T) {
	con := newConsole(t)
	viewer := loginAs(t, con, staff.Viewer)
	ctx := context.Background()
	for i := 0; i < 60; i++ {
		e := audit.Entry{At: con.clock.Now(), StaffName: "cli", ClientIP: "local", Action: "order.requery",
			ObjectKind: "order", ObjectID: "R" + strings.Repeat("0", 3-len(itoa(i))) + itoa(i), After: map[string]int{"n": i}}
		if err := audit.Append(ctx, con.store.DB(), e); err != nil {
			t.Fatal(err)
		}
	}
	// A failed login by a name that is nobody's is a line too.
	a := con.agent()
	a.post("/ops/login", "/ops/login", url.Values{"name": {"nobody.here"}, "password": {"guess-pass-1"}})

	page := viewer.get("/ops/audit?action=order.requery")
	expectStatus(t, page, http.StatusOK)
	if n := strings.Count(page.body, `data-testid="audit-line"`); n != 50 {
		t.Fatalf("first page shows %d lines, want 50", n)
	}
	expectContains(t, page, "R059", `{&#34;n&#34;: 59}`, `data-testid="audit-older"`)
	older := regexpOlder.FindStringSubmatch(page.body)
	if older == nil {
		t.Fatal("no link to older lines")
	}
	next := viewer.get(strings.ReplaceAll(older[1], "&amp;", "&"))
	if n := strings.Count(next.body, `data-testid="audit-line"`); n != 10 || strings.Contains(next.body, "R059") || !strings.Contains(next.body, "R000") {
		t.Fatalf("second page shows %d lines:\n%.1500s", n, next.body)
	}
	byObject := viewer.get("/ops/audit?object_kind=order&object_id=R007")
	if n := strings.Count(byObject.body, `data-testid="audit-line"`); n != 1 {
		t.Errorf("object filter shows %d lines", n)
	}
	byStaff := viewer.get("/ops/audit?staff=nobody.here")
	expectContains(t, byStaff, "login.failed")
	mine := viewer.get("/ops/audit?staff=" + url.QueryEscape(viewer.member.Name))
	expectContains(t, mine, "login.password", "password.change", "totp.enroll", "audit.search")
	if strings.Contains(mine.body, ">order.requery<") {
		t.Error("the staff filter let other lines through")
	}
	expectStatus(t, viewer.get("/ops/audit?before=x"), http.StatusBadRequest)
}

var regexpOlder = regexpMust(`href="(/ops/audit\?[^"]+)" class="link" data-testid="audit-older"`)

func TestTheEnrollmentPageShowsAQRCodeAndTheSecretInBothLanguages(t *testing.T) {
	con := newConsole(t)
	m, pw, err := con.staff.Add(context.Background(), "bilingual", staff.Viewer)
	if err != nil {
		t.Fatal(err)
	}
	ag := con.agent()
	ag.header.Set("Accept-Language", "en")
	expectRedirect(t, ag.post("/ops/login", "/ops/login", url.Values{"name": {m.Name}, "password": {pw}}), "/ops/password")
	expectRedirect(t, ag.post("/ops/password", "/ops/password", url.Values{"password": {newPassword}}), "/ops/totp/enroll")
	en := ag.get("/ops/totp/enroll")
	expectContains(t, en, "Set up two-step verification", `src="data:image/png;base64,`, `data-testid="ops-totp-secret"`)
	// A reload shows the same secret: the one scanned is the one confirmed.
	if secretText.FindString(en.body) != secretText.FindString(ag.get("/ops/totp/enroll").body) {
		t.Error("the secret changed on reload")
	}
	ag.header.Set("Accept-Language", "zh-CN")
	expectContains(t, ag.get("/ops/totp/enroll"), "设置两步验证")
}

func itoa(i int) string { return strconv.Itoa(i) }

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }
