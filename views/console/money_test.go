package console_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"

	"im2pay/views/components"
	"im2pay/views/console"
	"im2pay/views/i18n"
	"im2pay/wallet"
)

func renderIn(t *testing.T, lang i18n.Lang, c templ.Component) string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(i18n.WithLocale(context.Background(), lang, time.UTC), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestTheAdjustmentPagesSpeakBothLanguagesAndOfferNoSelfApproval(t *testing.T) {
	f := console.AdjustFormView{User: "alice", Direction: "debit", Amount: "5", Threshold: 500_00,
		Problems: components.Problems{"reason": wallet.NewProblem("reason", "adjust.reason_empty")}}
	zh, en := renderIn(t, i18n.ZH, console.AdjustForm("tok-1", f)), renderIn(t, i18n.EN, console.AdjustForm("tok-1", f))
	for _, want := range []string{`name="_csrf" value="tok-1"`, "请填写原因。", "超过 ¥500.00 的调整需另一名员工审批。", `value="debit" checked`} {
		if !strings.Contains(zh, want) {
			t.Errorf("the Chinese form lacks %q", want)
		}
	}
	if !strings.Contains(en, "Please give a reason.") || !strings.Contains(en, "Ticket reference") {
		t.Errorf("the English form:\n%s", en)
	}
	items := []console.PendingAdjustment{
		{ID: 7, Username: "bob", Credit: true, Amount: 600_00, Reason: "<script>x</script>", Ticket: "T-1", RequesterName: "ann"},
		{ID: 8, Username: "bob", Amount: 700_00, Reason: "r", Ticket: "T-2", RequesterName: "me", Own: true},
	}
	page := renderIn(t, i18n.EN, console.PendingAdjustments("tok-2", items))
	if !strings.Contains(page, `action="/ops/adjustments/7/approve"`) || !strings.Contains(page, `action="/ops/adjustments/7/reject"`) {
		t.Errorf("no decision forms for another's request:\n%s", page)
	}
	if strings.Contains(page, "/ops/adjustments/8/") || !strings.Contains(page, "Your own request") {
		t.Errorf("the viewer's own request offers a decision:\n%s", page)
	}
	if strings.Contains(page, "<script>x") {
		t.Error("a reason is rendered unescaped")
	}
}

func TestTheCodesAreShownOnceWithTheirCSVInTheLink(t *testing.T) {
	csv := []byte("code,amount_yuan\nABCD-EFGH-JKMN-PQRS,1.00\n")
	v := console.CodesShownView{Batch: console.BatchView{ID: 3, Amount: 1_00, PerPerson: 1,
		ExpiresAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}, Codes: []string{"ABCD-EFGH-JKMN-PQRS"},
		CSVURL: console.CSVDataURL(csv), CSVName: "redeem-batch-3.csv"}
	for lang, want := range map[i18n.Lang]string{i18n.ZH: "兑换码只显示这一次", i18n.EN: "shown only this once"} {
		page := renderIn(t, lang, console.CodesShown(v))
		if !strings.Contains(page, want) || !strings.Contains(page, "ABCD-EFGH-JKMN-PQRS") ||
			!strings.Contains(page, `download="redeem-batch-3.csv"`) || !strings.Contains(page, "2026-12-31") {
			t.Errorf("%s page:\n%s", lang, page)
		}
		if !strings.Contains(page, base64.StdEncoding.EncodeToString(csv)) {
			t.Errorf("%s: the CSV is not in the link", lang)
		}
	}
	list := renderIn(t, i18n.ZH, console.BatchList("tok", []console.BatchView{
		{ID: 1, Amount: 5_00, Count: 10, Redeemed: 2}, {ID: 2, Voided: true}}))
	if !strings.Contains(list, `action="/ops/redeem/batches/1/void"`) || strings.Contains(list, "/ops/redeem/batches/2/void") ||
		!strings.Contains(list, "已作废") {
		t.Errorf("batch list:\n%s", list)
	}
}
