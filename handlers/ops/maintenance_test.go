package ops_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"im2pay/staff"
)

func TestMaintenanceSwitchesAreAuditedAndAllOffLiftsEveryOne(t *testing.T) {
	con, pay, _ := payConsole(t)
	ctx := context.Background()
	op := loginAs(t, con, staff.Operator)
	const page = "/ops/maintenance"
	for _, m := range []string{"alipay", "all", "wechat"} {
		expectRedirect(t, op.post(page, page, url.Values{"method": {m}, "message": {"升级中"},
			"message_en": {"Upgrading"}, "until": {"2031-05-01T08:30"}}), page)
	}
	a := op.get(page)
	expectContains(t, a, `data-testid="ops-maintenance-alipay" data-on="true"`, `data-testid="ops-maintenance-card" data-on="false"`,
		`value="Upgrading"`, `value="2031-05-01T08:30"`)
	// One switch off: the others stay.
	expectRedirect(t, op.post(page, page+"/off", url.Values{"method": {"wechat"}}), page)
	if ms, _ := pay.Maintenances(ctx); len(ms) != 2 {
		t.Fatalf("%d switches on after one off, want 2", len(ms))
	}
	// "all" off alone leaves alipay's own switch on; all-off lifts every one.
	expectRedirect(t, op.post(page, page+"/all-off", url.Values{}), page)
	if ms, _ := pay.Maintenances(ctx); len(ms) != 0 {
		t.Fatalf("switches still on after all off: %+v", ms)
	}
	if methods, _ := pay.Methods(ctx); len(methods) == 0 || !methods[0].Open {
		t.Fatalf("methods after all off: %+v", methods)
	}

	on := auditLines(t, con, "maintenance.on")
	if len(on) != 3 || on[0].ObjectID != "wechat" || string(on[0].Before) != "null" {
		t.Fatalf("maintenance.on lines: %+v", on)
	}
	var after struct {
		Message   string `json:"message"`
		MessageEN string `json:"message_en"`
	}
	if json.Unmarshal(on[0].After, &after) != nil || after.Message != "升级中" || after.MessageEN != "Upgrading" {
		t.Fatalf("maintenance.on after: %s", on[0].After)
	}
	off := auditLines(t, con, "maintenance.off")
	if len(off) != 1 || off[0].ObjectID != "wechat" || string(off[0].After) != "null" || string(off[0].Before) == "null" {
		t.Fatalf("maintenance.off lines: %+v", off)
	}
	all := auditLines(t, con, "maintenance.all_off")
	var before []struct {
		Method string `json:"method"`
	}
	if len(all) != 1 || all[0].StaffName != op.member.Name || json.Unmarshal(all[0].Before, &before) != nil || len(before) != 2 {
		t.Fatalf("maintenance.all_off lines: %+v", all)
	}
}

func TestABadMaintenanceFormIsRefusedInTheStaffsLanguage(t *testing.T) {
	con, pay, _ := payConsole(t)
	zh := loginAs(t, con, staff.Operator)
	en := loginAs(t, con, staff.Operator)
	en.header.Set("Accept-Language", "en")
	const page = "/ops/maintenance"
	for _, c := range []struct {
		form   url.Values
		zh, en string
	}{
		{url.Values{"method": {"alipay"}, "until": {"tomorrow"}}, "预计结束时间格式不正确。", "The expected end is not a date and time."},
		{url.Values{"method": {"cash"}}, "未知的维护开关。", "Unknown maintenance switch."},
		{url.Values{"method": {"alipay"}, "message": {"a\nb"}}, "只能有一行", "one line"},
	} {
		a := zh.post(page, page, c.form)
		expectStatus(t, a, http.StatusUnprocessableEntity)
		expectContains(t, a, c.zh)
		a = en.post(page, page, c.form)
		expectStatus(t, a, http.StatusUnprocessableEntity)
		expectContains(t, a, c.en)
	}
	expectStatus(t, zh.post(page, page+"/off", url.Values{"method": {"nothing"}}), http.StatusUnprocessableEntity)
	if ms, _ := pay.Maintenances(context.Background()); len(ms) != 0 {
		t.Fatalf("a refused form switched something: %+v", ms)
	}
}
