package wechat

import (
	"errors"
	"strings"
	"testing"

	"im2pay/payment"
)

// billFixture is an ALL trade bill in the documented layout (PROVIDERS.md
// §2.5): the detail header, rows with every value prefixed by a backtick,
// 手续费 to 5 decimals, then the summary header and row.
const billFixture = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n" +
	"`2026-12-02 10:00:01,`wx8888888888888888,`1900000109,`0,`,`4200000000202612020000000001,`T0000000000000000000001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`SUCCESS,`OTHERS,`CNY,`68.00,`0.00,`0,`0,`0.00,`0.00,`,`,`IM2.0 Pay 余额充值 ¥68.00,`,`0.40800,`0.60%,`68.00,`0.00,`\n" +
	"`2026-12-02 11:00:01,`wx8888888888888888,`1900000109,`0,`,`4200000000202612020000000002,`T0000000000000000000002,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`MWEB,`SUCCESS,`OTHERS,`CNY,`100.00,`0.00,`0,`0,`0.00,`0.00,`,`,`IM2.0 Pay 余额充值 ¥100.00,`,`0.60000,`0.60%,`100.00,`0.00,`\n" +
	"`2026-12-02 14:00:01,`wx8888888888888888,`1900000109,`0,`,`4200000000202612020000000001,`T0000000000000000000001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50300000000000000000000001,`R000000000000001,`10.00,`0.00,`ORIGINAL,`SUCCESS,`IM2.0 Pay 余额充值 ¥68.00,`,`-0.06000,`0.60%,`0.00,`10.00,`\n" +
	"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n" +
	"`3,`168.00,`10.00,`0.00,`0.94800,`168.00,`10.00\n"

func TestATradeBillParsesWithFeesRoundedToTheFen(t *testing.T) {
	b, err := ParseBill([]byte(billFixture))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Lines) != 3 || b.Count != 3 || b.Gross != 16800 || b.Refund != 1000 || b.Fees != 95 {
		t.Fatalf("bill = %+v", b)
	}
	want := []payment.BillLine{
		{Kind: payment.BillPayment, OutTradeNo: "T0000000000000000000001", TradeNo: "4200000000202612020000000001", Amount: 6800, Fee: 41},
		{Kind: payment.BillPayment, OutTradeNo: "T0000000000000000000002", TradeNo: "4200000000202612020000000002", Amount: 10000, Fee: 60},
		{Kind: payment.BillRefund, OutTradeNo: "T0000000000000000000001", TradeNo: "4200000000202612020000000001",
			RequestNo: "R000000000000001", RefundID: "50300000000000000000000001", Amount: 1000, Fee: -6},
	}
	for i, w := range want {
		g := b.Lines[i]
		if g.Kind != w.Kind || g.OutTradeNo != w.OutTradeNo || g.TradeNo != w.TradeNo || g.RequestNo != w.RequestNo ||
			g.RefundID != w.RefundID || g.Amount != w.Amount || g.Fee != w.Fee || g.Currency != "CNY" {
			t.Errorf("line %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestATradeBillThatDisagreesWithItsSummaryIsRefused(t *testing.T) {
	for name, change := range map[string][2]string{
		"count":            {"`3,`168.00", "`2,`168.00"},
		"应结订单总金额":          {"`168.00,`10.00,`0.00", "`168.01,`10.00,`0.00"},
		"退款总金额":            {"`10.00,`0.00,`0.94800", "`11.00,`0.00,`0.94800"},
		"手续费总金额, 1e-5 off": {"`0.94800", "`0.94801"},
		"a row changed":    {"`100.00,`0.00,`0", "`99.00,`0.00,`0"},
		"no summary":       {"总交易单数", "总 交易单数x"},
		"an unknown state": {"`REFUND,", "`REVOKED,"},
		"six fee decimals": {"`0.60000,", "`0.600000,"},
		"header w/o 交易状态":  {",交易状态,", ",状态,"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseBill([]byte(strings.Replace(billFixture, change[0], change[1], 1))); !errors.Is(err, payment.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}
