package recharge

import (
	"errors"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/problem"
)

func TestAllOffLiftsEverySwitchAndReturnsWhatWasOn(t *testing.T) {
	f := newFixture(t)
	f.service = NewService(f.store, Options{Providers: map[payment.Method]payment.Provider{
		payment.Alipay: nil, payment.WeChat: nil}})
	until := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	on, err := f.service.SwitchMaintenanceOn(f.ctx, "alipay", Notice{ZH: "系统升级", EN: "Upgrading"}, until)
	if err != nil || on.Before != nil || on.After == nil || on.After.MessageEN != "Upgrading" || !on.After.Until.Time.Equal(until) {
		t.Fatalf("on: %+v %v", on, err)
	}
	changed, err := f.service.SwitchMaintenanceOn(f.ctx, "alipay", Notice{ZH: "延长维护"}, time.Time{})
	if err != nil || changed.Before == nil || changed.Before.Message != "系统升级" || changed.After.Message != "延长维护" ||
		changed.After.Until.Valid {
		t.Fatalf("change: %+v %v", changed, err)
	}
	if _, err := f.service.SwitchMaintenanceOn(f.ctx, "all", Notice{ZH: "全站维护", EN: "Down for maintenance"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	// The person's refusal carries both languages; the page picks one.
	_, err = f.service.Quote(f.ctx, 1, "wechat", "6.00")
	var p *problem.Problem
	if !errors.As(err, &p) || p.Code != "recharge.maintenance" || len(p.Args) != 1 {
		t.Fatalf("quote under maintenance: %v", err)
	}
	if n, ok := p.Args[0].(Notice); !ok || n.Localize("en") != "Down for maintenance" || n.Localize("zh-CN") != "全站维护" {
		t.Fatalf("notice %#v", p.Args[0])
	}

	// Turning "all" off alone leaves alipay's own switch on (the old
	// behaviour of the one switch); ClearAllMaintenance lifts both.
	if _, err := f.service.SwitchMaintenanceOn(f.ctx, "all", Notice{ZH: "全站维护"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	lifted, err := f.service.ClearAllMaintenance(f.ctx)
	if err != nil || len(lifted) != 2 || lifted[0].Before == nil || lifted[0].After != nil {
		t.Fatalf("lifted %+v %v", lifted, err)
	}
	left, err := f.service.Maintenances(f.ctx)
	if err != nil || len(left) != 0 {
		t.Fatalf("switches left on after all off: %+v %v", left, err)
	}
	methods, err := f.service.Methods(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range methods {
		if !m.Open {
			t.Fatalf("%s still closed", m.Method)
		}
	}
	if again, err := f.service.ClearAllMaintenance(f.ctx); err != nil || len(again) != 0 {
		t.Fatalf("a second all off: %+v %v", again, err)
	}
}

func TestAnEnglishReaderWithoutAnEnglishNoticeReadsTheChineseOne(t *testing.T) {
	n := Notice{ZH: "系统升级"}
	if n.Localize("en") != "系统升级" || (Notice{ZH: "升级", EN: "Upgrade"}).Localize("zh-CN") != "升级" {
		t.Fatal("fallback")
	}
}

func TestAMaintenanceSwitchRefusesUnknownMethodsAndHostileMessages(t *testing.T) {
	f := newFixture(t)
	long := make([]rune, maxNotice+1)
	for i := range long {
		long[i] = '长'
	}
	cases := []struct {
		method string
		n      Notice
		field  string
	}{
		{"bitcoin", Notice{}, "method"},
		{"all'; --", Notice{}, "method"},
		{"alipay", Notice{ZH: "a\x00b"}, "message"},
		{"alipay", Notice{EN: "\xff"}, "message_en"},
		{"alipay", Notice{EN: "line\nbreak"}, "message_en"},
		{"alipay", Notice{ZH: string(long)}, "message"},
	}
	for _, c := range cases {
		_, err := f.service.SwitchMaintenanceOn(f.ctx, c.method, c.n, time.Time{})
		var p *problem.Problem
		if !errors.As(err, &p) || p.Field != c.field {
			t.Errorf("%q %+v: %v, want a problem with field %q", c.method, c.n, err, c.field)
		}
	}
	if _, err := f.service.SwitchMaintenanceOff(f.ctx, "everything"); err == nil {
		t.Error("an unknown switch turned off")
	}
	if ms, _ := f.service.Maintenances(f.ctx); len(ms) != 0 {
		t.Fatalf("a refused switch is on: %+v", ms)
	}
}
