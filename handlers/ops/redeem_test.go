package ops_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"im2pay/staff"
)

var (
	batchID  = regexp.MustCompile(`data-testid="codes-shown" data-batch="(\d+)"`)
	codeItem = regexp.MustCompile(`<li data-testid="code">([0-9A-Z-]+)</li>`)
	csvLink  = regexp.MustCompile(`href="data:text/csv;charset=utf-8;base64,([A-Za-z0-9+/=]+)"`)
)

// batchForm is the batch form filled in: amount yuan a code, count codes,
// two a person, expiring in ten days by the app clock.
func batchForm(con *console, amount, count string) url.Values {
	return url.Values{"amount": {amount}, "count": {count}, "per_person": {"2"},
		"expires": {con.clock.Now().AddDate(0, 0, 10).Format("2006-01-02")}, "note": {"spring campaign"}}
}

func TestAnOperatorCreatesABatchWhoseCodesAreShownOnce(t *testing.T) {
	con := newConsole(t)
	op := loginAs(t, con, staff.Operator)
	expectContains(t, op.get("/ops/redeem"), `data-testid="batch-form"`, "还没有兑换码批次。")

	res := op.post("/ops/redeem", "/ops/redeem/batches", batchForm(con, "6.66", "5"))
	expectStatus(t, res, http.StatusOK)
	expectContains(t, res, "兑换码只显示这一次", `download="redeem-batch-`)
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q on the codes page, want no-store", cc)
	}
	codes := codeItem.FindAllStringSubmatch(res.body, -1)
	if len(codes) != 5 {
		t.Fatalf("%d codes shown, want 5", len(codes))
	}
	m := csvLink.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatal("no CSV link on the codes page")
	}
	raw, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "code,") {
		t.Fatalf("CSV:\n%s", raw)
	}
	for i, c := range codes {
		if !strings.HasPrefix(lines[i+1], c[1]+",6.66,") {
			t.Fatalf("CSV line %d %q is not code %s of 6.66", i+1, lines[i+1], c[1])
		}
	}
	if con.auditLines("redeem.batch_create", op.member.Name, batchID.FindStringSubmatch(res.body)[1], "") != 1 {
		t.Fatal("no audit line for the batch")
	}

	// The codes page's address opened again, and the list: no codes.
	again := op.get("/ops/redeem/batches")
	expectRedirect(t, again, "/ops/redeem")
	list := op.get("/ops/redeem")
	expectContains(t, list, "0/5", "spring campaign")
	for _, c := range codes {
		if strings.Contains(list.body, c[1]) || strings.Contains(again.body, c[1]) {
			t.Fatal("a code is shown again")
		}
	}

	// A refused form is sent back, field by field.
	bad := op.post("/ops/redeem", "/ops/redeem/batches", url.Values{"amount": {"0"}, "count": {"0"},
		"per_person": {"1"}, "expires": {"2001-01-01"}})
	expectStatus(t, bad, http.StatusUnprocessableEntity)
	expectContains(t, bad, "金额必须大于零。", "数量须在 1 到 10000 之间。")
}

func TestOnlyOperatorsCreateOrVoidBatches(t *testing.T) {
	con := newConsole(t)
	op := loginAs(t, con, staff.Operator)
	res := op.post("/ops/redeem", "/ops/redeem/batches", batchForm(con, "1.00", "1"))
	expectStatus(t, res, http.StatusOK)
	id := batchID.FindStringSubmatch(res.body)[1]
	for _, role := range []staff.Role{staff.Finance, staff.Viewer, staff.Admin} {
		ag := loginAs(t, con, role)
		expectDenied(t, con, ag, ag.post("/ops/redeem", "/ops/redeem/batches", batchForm(con, "1.00", "1")),
			"/ops/redeem/batches")
		path := "/ops/redeem/batches/" + id + "/void"
		expectDenied(t, con, ag, ag.post("/ops/redeem", path, url.Values{}), path)
	}
	if n := strings.Count(op.get("/ops/redeem").body, `data-testid="batch"`); n != 1 {
		t.Fatalf("%d batches, want 1", n)
	}
	if strings.Contains(op.get("/ops/redeem").body, "已作废") {
		t.Fatal("a refused void voided the batch")
	}
}

func TestAVoidedBatchsCodesAreRefusedToAPerson(t *testing.T) {
	con := newConsole(t)
	op := loginAs(t, con, staff.Operator)
	p, id := person(t, con, "latecomer", 0)
	res := op.post("/ops/redeem", "/ops/redeem/batches", batchForm(con, "3.00", "2"))
	expectStatus(t, res, http.StatusOK)
	batch := batchID.FindStringSubmatch(res.body)[1]
	codes := codeItem.FindAllStringSubmatch(res.body, -1)

	// One code redeemed before the void stays redeemed.
	expectRedirect(t, p.post("/account/redeem", "/account/redeem", url.Values{"code": {codes[0][1]}}), "/account/redeem")

	// htmx posts the void (the list's hx-post): HX-Redirect to the list.
	path := "/ops/redeem/batches/" + batch + "/void"
	v := op.post("/ops/redeem", path, url.Values{}, "HX-Request", "true")
	expectStatus(t, v, http.StatusOK)
	if v.header.Get("HX-Redirect") != "/ops/redeem" {
		t.Fatalf("HX-Redirect %q, want /ops/redeem", v.header.Get("HX-Redirect"))
	}
	expectContains(t, op.get("/ops/redeem"), "已作废", "1/2")
	if con.auditLines("redeem.batch_void", op.member.Name, batch, "") != 1 {
		t.Fatal("no audit line for the void")
	}
	// A second void changes nothing and is recorded as refused.
	expectRedirect(t, op.post("/ops/redeem", path, url.Values{}), "/ops/redeem")
	if con.auditLines("redeem.batch_void_refused", op.member.Name, batch, "already voided") != 1 {
		t.Fatal("no audit line for the second void")
	}

	late := p.post("/account/redeem", "/account/redeem", url.Values{"code": {codes[1][1]}})
	expectStatus(t, late, http.StatusUnprocessableEntity)
	expectContains(t, late, "该兑换码已作废。")
	if got := con.balance(id); got != 3_00 {
		t.Fatalf("balance %d fen, want 300 (the one code redeemed before the void)", got)
	}

	// Ids that are no batch: 404, whatever their shape.
	for _, bad := range []string{"999999", "0", "-3", "x", "99999999999999999999"} {
		expectStatus(t, op.post("/ops/redeem", "/ops/redeem/batches/"+bad+"/void", url.Values{}), http.StatusNotFound)
	}
}
