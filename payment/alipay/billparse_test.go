package alipay

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"im2pay/payment"
)

// detailFixture is a 业务明细 file in the documented layout (PROVIDERS.md
// §1.5; the 2019 and 2026 public fixtures): '#' lines, the header, rows
// whose identifiers end with a TAB, a refund row with negative amounts, our
// out_request_no and a negative 服务费, and the footer totals.
const detailFixture = "#支付宝业务明细查询\n" +
	"#账号：[20880000000000000156]\n" +
	"#起始日期：[2026年12月02日 00:00:00]   终止日期：[2026年12月03日 00:00:00]\n" +
	"#-----------------------------------------业务明细列表----------------------------------------\n" +
	"支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注\n" +
	"2026120222001400000000000001\t,T0000000000000000000001\t,交易\t,IM2.0 Pay 余额充值 ￥68.00,2026-12-02 10:55:16,2026-12-02 10:55:23,\t,\t,\t,\t,*津水(602***@qq.com)\t,68.00,68.00,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,\t,0.41,0.00,\n" +
	"2026120222001400000000000002\t,T0000000000000000000002\t,交易\t,IM2.0 Pay 余额充值 ￥100.00,2026-12-02 11:07:03,2026-12-02 11:07:09,\t,\t,\t,\t,*津水(602***@qq.com)\t,100.00,100.00,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,\t,0.60,0.00,\n" +
	"2026120222001400000000000001\t,T0000000000000000000001\t,退款\t,IM2.0 Pay 余额充值 ￥68.00,2026-12-02 10:55:16,2026-12-02 14:15:12,\t,\t,\t,\t,*津水(602***@qq.com)\t,-10.00,-10.00,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,R000000000000001\t,-0.06,0.00,\n" +
	"#-----------------------------------------业务明细列表结束------------------------------------\n" +
	"#交易合计：2笔，商家实收共168.00元，商家优惠共0.00元\n" +
	"#退款合计：1笔，商家实收退款共-10.00元，商家优惠退款共0.00元\n" +
	"#导出时间：[2026年12月03日 09:46:49]\n"

const summaryFixture = "#支付宝业务汇总查询\n#账号：[20880000000000000156]\n" +
	"门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）\n" +
	"合计,,2,1,158.00,158.00,0.00,0.00,0.00,0.95,0.00,157.05\n"

// zipOf builds the bill zip as Alipay does: GBK content, GBK entry names
// without the UTF-8 flag.
func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	enc := simplifiedchinese.GBK.NewEncoder()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, text := range files {
		n, err1 := enc.String(name)
		c, err2 := enc.String(text)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, NonUTF8: true})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(c))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAGBKBillWithChineseNamesParsesExactly(t *testing.T) {
	raw := zipOf(t, map[string]string{
		"20880000000000000156_20261202_业务明细.csv":     detailFixture,
		"20880000000000000156_20261202_业务明细(汇总).csv": summaryFixture,
	})
	day := time.Date(2026, 12, 2, 0, 0, 0, 0, beijing)
	b, err := ParseBill(raw, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Lines) != 3 || b.Count != 3 || b.Gross != 16800 || b.Refund != 1000 || b.Fees != 95 {
		t.Fatalf("bill = %+v", b)
	}
	r := b.Lines[2]
	if r.Kind != payment.BillRefund || r.Amount != 1000 || r.Fee != -6 || r.RequestNo != "R000000000000001" ||
		r.TradeNo != "2026120222001400000000000001" || r.OutTradeNo != "T0000000000000000000001" ||
		!r.At.Equal(time.Date(2026, 12, 2, 14, 15, 12, 0, beijing)) {
		t.Fatalf("refund line = %+v", r)
	}
	if p := b.Lines[0]; p.Kind != payment.BillPayment || p.Amount != 6800 || p.Fee != 41 || p.Currency != "CNY" {
		t.Fatalf("payment line = %+v", p)
	}
}

func TestABillThatDisagreesWithItsOwnTotalsIsRefused(t *testing.T) {
	for name, change := range map[string][2]string{
		"trade footer count":  {"#交易合计：2笔", "#交易合计：3笔"},
		"trade footer sum":    {"商家实收共168.00元", "商家实收共168.01元"},
		"refund footer sum":   {"商家实收退款共-10.00元", "商家实收退款共-9.00元"},
		"a row amount":        {",100.00,100.00,", ",100.00,99.00,"},
		"no footer":           {"#退款合计", "#退 合计"},
		"an unknown 业务类型":     {"退款\t", "冲正\t"},
		"a fraction of a fen": {",0.60,0.00,", ",0.605,0.00,"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseDetail([]byte(strings.Replace(detailFixture, change[0], change[1], 1))); !errors.Is(err, payment.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
	t.Run("汇总 fee", func(t *testing.T) {
		raw := zipOf(t, map[string]string{"x_业务明细.csv": detailFixture,
			"x_业务明细(汇总).csv": strings.Replace(summaryFixture, ",0.95,", ",0.96,", 1)})
		if _, err := ParseBill(raw, time.Now()); !errors.Is(err, payment.ErrMalformed) {
			t.Fatalf("err = %v, want ErrMalformed", err)
		}
	})
}
