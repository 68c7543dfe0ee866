package ops_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"im2pay/staff"
)

var pendingID = regexp.MustCompile(`data-testid="adjust-pending-item" data-id="(\d+)"`)

// adjustForm is the request form as a staff member fills it in.
func adjustForm(user, direction, amount, reason, ticket string) url.Values {
	return url.Values{"user": {user}, "direction": {direction}, "amount": {amount}, "reason": {reason}, "ticket": {ticket}}
}

// requestPending asks, as ag, for an adjustment above the threshold and
// returns the id of the request now waiting.
func requestPending(t *testing.T, ag *agent, user, direction, amount, reason string) string {
	t.Helper()
	expectRedirect(t, ag.post("/ops/adjustments", "/ops/adjustments", adjustForm(user, direction, amount, reason, "T-1")),
		"/ops/adjustments?done=requested")
	m := pendingID.FindAllStringSubmatch(ag.get("/ops/adjustments").body, -1)
	if len(m) == 0 {
		t.Fatal("the request is not among the pending adjustments")
	}
	return m[len(m)-1][1]
}

func TestViewersAndOperatorsCannotRequestOrApproveAdjustments(t *testing.T) {
	con := newConsole(t)
	_, id := person(t, con, "untouched", 0)
	fin := loginAs(t, con, staff.Finance)
	waiting := requestPending(t, fin, "untouched", "credit", "900.00", "pending for the refusal test")
	for _, role := range []staff.Role{staff.Viewer, staff.Operator} {
		ag := loginAs(t, con, role)
		// They may read the page…
		expectContains(t, ag.get("/ops/adjustments"), `data-testid="adjust-pending"`)
		// …but neither ask nor decide.
		expectDenied(t, con, ag, ag.post("/ops/adjustments", "/ops/adjustments",
			adjustForm("untouched", "credit", "10.00", "not allowed", "T-2")), "/ops/adjustments")
		for _, d := range []string{"approve", "reject"} {
			path := "/ops/adjustments/" + waiting + "/" + d
			expectDenied(t, con, ag, ag.post("/ops/adjustments", path, url.Values{}), path)
		}
	}
	if got := con.balance(id); got != 0 {
		t.Fatalf("balance %d fen after refused requests, want 0", got)
	}
	if m := pendingID.FindAllStringSubmatch(fin.get("/ops/adjustments").body, -1); len(m) != 1 || m[0][1] != waiting {
		t.Fatalf("pending after the refusals: %v, want only %s", m, waiting)
	}
}

func TestAnAdjustmentAboveTheThresholdWaitsForASecondFinanceMember(t *testing.T) {
	con := newConsole(t)
	p, id := person(t, con, "adjustee", 0)
	a, b := loginAs(t, con, staff.Finance), loginAs(t, con, staff.Finance)
	const reason = "补偿订单延迟到账"

	page := a.get("/ops/adjustments?user=adjustee")
	expectContains(t, page, `value="adjustee"`, "超过 ¥500.00 的调整需另一名员工审批。")
	res := a.post("/ops/adjustments", "/ops/adjustments", adjustForm("adjustee", "credit", "600.00", reason, "T-1001"))
	expectRedirect(t, res, "/ops/adjustments?done=requested")
	expectContains(t, a.get(res.location()), "调整已提交，等待另一名员工审批。", `data-testid="adjust-own"`)
	waiting := pendingID.FindStringSubmatch(a.get("/ops/adjustments").body)[1]
	if got := con.balance(id); got != 0 {
		t.Fatalf("balance %d fen while waiting, want 0", got)
	}
	if con.auditLines("adjustment.request", a.member.Name, waiting, "") != 1 {
		t.Fatal("no audit line for the request")
	}

	// The asker's own approval (the page offers no button; a forged post
	// is refused) and, in English, their own rejection.
	path := "/ops/adjustments/" + waiting + "/approve"
	own := a.post("/ops/adjustments", path, url.Values{})
	expectStatus(t, own, http.StatusConflict)
	expectContains(t, own, "不能审批自己提交的调整。")
	a.header.Set("Accept-Language", "en")
	ownEN := a.post("/ops/adjustments", "/ops/adjustments/"+waiting+"/reject", url.Values{})
	expectStatus(t, ownEN, http.StatusConflict)
	expectContains(t, ownEN, "You cannot decide an adjustment you requested.")
	if con.auditLines("adjustment.approve_refused", a.member.Name, waiting, "own request") != 1 ||
		con.auditLines("adjustment.reject_refused", a.member.Name, waiting, "own request") != 1 {
		t.Fatal("the refused own decisions have no audit lines")
	}
	if got := con.balance(id); got != 0 {
		t.Fatalf("balance %d fen after the asker's approval, want 0", got)
	}

	// The second member approves: posted, once.
	view := b.get("/ops/adjustments")
	expectContains(t, view, `action="`+path+`"`)
	expectRedirect(t, b.post("/ops/adjustments", path, url.Values{}), "/ops/adjustments?decided=approved")
	expectContains(t, b.get("/ops/adjustments?decided=approved"), "已批准并入账。", "没有待审批的调整。")
	again := b.post("/ops/adjustments", path, url.Values{})
	expectStatus(t, again, http.StatusConflict)
	expectContains(t, again, "该调整已被处理。")
	if con.auditLines("adjustment.approve", b.member.Name, waiting, "") != 1 ||
		con.auditLines("adjustment.approve_refused", b.member.Name, waiting, "already decided") != 1 {
		t.Fatal("the approval and the second try lack their audit lines")
	}
	if got := con.balance(id); got != 600_00 {
		t.Fatalf("balance %d fen after the approval (and a second one), want 60000", got)
	}

	// The person reads it with its reason, in either language.
	expectContains(t, p.get("/history"), "客服调整："+reason)
	p.header.Set("Accept-Language", "en")
	expectContains(t, p.get("/history"), "Adjustment by support: "+reason)
}

func TestAnAdjustmentAtTheThresholdPostsAtOnceAndADebitNeverGoesBelowZero(t *testing.T) {
	con := newConsole(t)
	_, id := person(t, con, "smallfix", 10_00)
	a, b := loginAs(t, con, staff.Finance), loginAs(t, con, staff.Finance)

	// A debit now that the wallet cannot cover: refused with the shortfall,
	// on the page (htmx: the form alone) and in the audit log.
	short := a.post("/ops/adjustments", "/ops/adjustments", adjustForm("smallfix", "debit", "20.00", "too much", "T-8"))
	expectStatus(t, short, http.StatusUnprocessableEntity)
	expectContains(t, short, "余额不足，无法扣减：还差 ¥10.00。")
	hx := a.post("/ops/adjustments", "/ops/adjustments", adjustForm("smallfix", "debit", "20.00", "too much", "T-8"),
		"HX-Request", "true")
	expectStatus(t, hx, http.StatusUnprocessableEntity)
	expectContains(t, hx, `id="adjust-form"`, "还差 ¥10.00")
	if strings.Contains(hx.body, "<html") {
		t.Fatal("the htmx answer is a whole page, not the form")
	}
	if con.auditLines("adjustment.request_refused", a.member.Name, "smallfix", "shortfall ¥10.00") != 2 {
		t.Fatal("the refused debits have no audit lines")
	}

	expectRedirect(t, a.post("/ops/adjustments", "/ops/adjustments",
		adjustForm("smallfix", "credit", "500.00", "refund of a double charge", "T-7")), "/ops/adjustments?done=posted")
	expectContains(t, a.get("/ops/adjustments?done=posted"), "调整已入账。")
	if got := con.balance(id); got != 510_00 {
		t.Fatalf("balance %d fen, want 51000", got)
	}

	// Above the threshold the check comes at approval: the request waits on.
	waiting := requestPending(t, a, "smallfix", "debit", "600.00", "chargeback")
	res := b.post("/ops/adjustments", "/ops/adjustments/"+waiting+"/approve", url.Values{})
	expectStatus(t, res, http.StatusConflict)
	expectContains(t, res, "余额不足，无法扣减：还差 ¥90.00。", `data-id="`+waiting+`"`)
	if con.auditLines("adjustment.approve_refused", b.member.Name, waiting, "shortfall ¥90.00") != 1 {
		t.Fatal("the refused approval has no audit line")
	}
	if got := con.balance(id); got != 510_00 {
		t.Fatalf("balance %d fen after refused debits, want 51000", got)
	}

	// A form without a reason or a known person is sent back, field by field.
	bad := a.post("/ops/adjustments", "/ops/adjustments", adjustForm("nobody-here", "credit", "1.00", "", "T-9"))
	expectStatus(t, bad, http.StatusUnprocessableEntity)
	expectContains(t, bad, "请填写原因。")
}

func TestTamperedAdjustmentIDsAreNotFound(t *testing.T) {
	con := newConsole(t)
	person(t, con, "target", 0)
	op := loginAs(t, con, staff.Operator)
	fin := loginAs(t, con, staff.Finance)
	// A batch's id is no adjustment's: this database has no adjustments yet.
	res := op.post("/ops/redeem", "/ops/redeem/batches", batchForm(con, "1.00", "1"))
	expectStatus(t, res, http.StatusOK)
	batch := batchID.FindStringSubmatch(res.body)[1]
	for _, id := range []string{batch, "999999", "0", "-1", "abc", "99999999999999999999", "1.5"} {
		for _, d := range []string{"approve", "reject"} {
			got := fin.post("/ops/adjustments", "/ops/adjustments/"+id+"/"+d, url.Values{})
			expectStatus(t, got, http.StatusNotFound)
		}
	}
}
