package i18n

import (
	"testing"

	"im2pay/recharge"
)

func TestTheOrdersExportHeaderAndEveryAnswerHaveTheirStrings(t *testing.T) {
	keys := append([]string{}, recharge.OrderCSVColumns...)
	for _, k := range []string{"notify", "return", "query", "complete", "close", "start", recharge.EventRefund, recharge.EventRefundQuery} {
		keys = append(keys, "ops.order.kind."+k)
	}
	for _, s := range []string{"unpaid", "paid", "processing", "failed", "closed", "cancelled", "awaiting", "not_started", "error"} {
		keys = append(keys, "ops.order.said."+s)
	}
	for _, k := range keys {
		if !Has(k) {
			t.Errorf("%s is missing", k)
		}
	}
}

func TestAMaintenanceNoticeIsShownInTheReadersLanguage(t *testing.T) {
	n := recharge.Notice{ZH: "系统升级", EN: "Upgrading"}
	if got := Lookup(EN, "recharge.maintenance", n); got != "This payment method is under maintenance: Upgrading" {
		t.Errorf("en: %q", got)
	}
	if got := Lookup(ZH, "recharge.maintenance", n); got != "该支付方式正在维护：系统升级" {
		t.Errorf("zh: %q", got)
	}
}
