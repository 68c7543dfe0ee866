package alipaysandbox

import (
	"archive/zip"
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"im2pay/payment"
)

// methodBillURL is the bill download URL query (PROVIDERS.md §1.5).
const methodBillURL = "alipay.data.dataservice.bill.downloadurl.query"

// FeeRateBP is the sandbox's service fee (服务费) in basis points of each
// payment: 0.6 %, a rate common for 当面付 and 电脑网站支付 (unverified: the
// rate is set by each merchant's contract, and PROVIDERS.md gives none).
const FeeRateBP = 60

// BillURLLife is how long a bill download URL works: 30 s, then "下载超时"
// (PROVIDERS.md §1.5, developer.aliyun.com/article/707638), on the
// sandbox's clock.
const BillURLLife = 30 * time.Second

// BillRow is one 业务明细 row before it is written, for tests that plant a
// difference with EditBill. Amount and Fee are positive fen; a refund row
// is written with both negative, as Alipay writes it.
type BillRow struct {
	TradeNo, OutTradeNo, Subject string
	Refund                       bool
	RequestNo                    string // 退款批次号/请求号 (refund rows)
	Created, Finished            time.Time
	Amount, Fee                  int64
}

// billToken is one issued download URL.
type billToken struct {
	day     time.Time
	expires time.Time
}

// EditBill makes the sandbox pass every generated day's rows through f
// before writing the bill (nil: none), so a test can drop a trade, change
// an amount or add a refund we never made. The footers and the 汇总 file
// are computed from the edited rows: the bill stays consistent in itself.
func (s *Sandbox) EditBill(f func(day time.Time, rows []BillRow) []BillRow) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.billEdit = f
}

// feeOf is the service fee on amount fen at FeeRateBP, rounded half up to
// the fen. How Alipay rounds, and how much fee it returns on a refund, are
// not documented (PROVIDERS.md §1.5 only says a refund row's 服务费 is
// negative): the sandbox returns the fee of the refunded amount.
func feeOf(amount int64) int64 { return (amount*FeeRateBP + 5000) / 10000 }

// billURL answers the download URL query (PROVIDERS.md §1.5): bill_type
// trade only (signcustomer is not played); bill_date a past day
// (yyyy-MM-dd; today, the future, the monthly form and days older than 30
// months are refused as invalid arguments, whose exact sub_code the docs do
// not give); isp.bill_not_exist before the bill is made (10:00 the next
// day, §1.8) and for a day without trades.
func (s *Sandbox) billURL(b biz, base string) tradeAnswer {
	now := s.now()
	day, err := time.ParseInLocation("2006-01-02", b.BillDate, beijing)
	today := now.In(beijing).Format("2006-01-02")
	if b.BillType != "trade" || err != nil || b.BillDate >= today || now.Sub(day) > 30*31*24*time.Hour {
		return failed(codeInvalidParam)
	}
	if now.Before(day.AddDate(0, 0, 1).Add(10 * time.Hour)) {
		return failed(codeBillNotExist)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.billRowsLocked(day)) == 0 {
		return failed(codeBillNotExist)
	}
	token := randomHex(16)
	if s.billTokens == nil {
		s.billTokens = map[string]billToken{}
	}
	s.billTokens[token] = billToken{day: day, expires: now.Add(BillURLLife)}
	// The real URL's parameters (PROVIDERS.md §1.5: dwbillcenter.alipay.com).
	q := url.Values{"bizType": {"trade"}, "userId": {s.ids.SellerID + "0156"}, "fileType": {"csv.zip"},
		"bizDates": {day.Format("20060102")}, "downloadFileName": {s.zipName(day)},
		"timestamp": {fmt.Sprint(now.UnixMilli())}, "token": {token}}
	a := ok()
	a.BillDownloadURL = base + "/" + name + "/downloadBillFile.resource?" + q.Encode()
	return a
}

func (s *Sandbox) zipName(day time.Time) string {
	return s.ids.SellerID + "0156_" + day.Format("20060102") + ".csv.zip"
}

// downloadBill serves the zip for a fresh token. An expired one answers
// "下载超时" (PROVIDERS.md §1.5); the status and page of that answer are not
// documented: the sandbox sends 200 with the text, as a page would.
func (s *Sandbox) downloadBill(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	tok, found := s.billTokens[r.URL.Query().Get("token")]
	var rows []BillRow
	if found && !s.now().After(tok.expires) {
		rows = s.billRowsLocked(tok.day)
	}
	s.mu.Unlock()
	if !found || rows == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("下载超时"))
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+s.zipName(tok.day)+`"`)
	_, _ = w.Write(s.billZip(tok.day, rows))
}

// billRowsLocked is the day's rows: each payment made that day (Beijing
// time) and each refund done that day, in order of completion, through
// EditBill. Callers hold s.mu.
func (s *Sandbox) billRowsLocked(day time.Time) []BillRow {
	end := day.AddDate(0, 0, 1)
	in := func(t time.Time) bool { return !t.Before(day) && t.Before(end) }
	var rows []BillRow
	for _, t := range s.trades {
		if !t.known || t.paidAt.IsZero() {
			continue
		}
		if in(t.paidAt) {
			rows = append(rows, BillRow{TradeNo: t.tradeNo, OutTradeNo: t.outTradeNo, Subject: t.subject,
				Created: t.created, Finished: t.paidAt, Amount: t.amount, Fee: feeOf(t.amount)})
		}
		for no, amount := range t.refunds {
			if in(t.refundAt[no]) {
				// A refund row keeps the trade's 创建时间 and has the
				// refund's 完成时间 (PROVIDERS.md §1.5).
				rows = append(rows, BillRow{TradeNo: t.tradeNo, OutTradeNo: t.outTradeNo, Subject: t.subject, Refund: true,
					RequestNo: no, Created: t.created, Finished: t.refundAt[no], Amount: amount, Fee: feeOf(amount)})
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].Finished.Equal(rows[j].Finished) {
			return rows[i].Finished.Before(rows[j].Finished)
		}
		return rows[i].TradeNo+rows[i].RequestNo < rows[j].TradeNo+rows[j].RequestNo
	})
	if s.billEdit != nil {
		rows = s.billEdit(day, rows)
	}
	return rows
}

// detailHeader is the 业务明细 header row, 25 columns (PROVIDERS.md §1.5).
const detailHeader = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户," +
	"订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称," +
	"商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"

// summaryHeader is the 汇总 file's header row (PROVIDERS.md §1.5).
const summaryHeader = "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）," +
	"卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）"

// billZip writes the day's zip: 业务明细 and 业务明细(汇总), GBK, entry names
// GBK without the UTF-8 flag (PROVIDERS.md §1.5, unverified on a real file).
func (s *Sandbox) billZip(day time.Time, rows []BillRow) []byte {
	detail, sum := s.billFiles(day, rows)
	prefix := s.ids.SellerID + "0156_" + day.Format("20060102")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct{ name, text string }{{prefix + "_业务明细.csv", detail}, {prefix + "_业务明细(汇总).csv", sum}} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: gbk(f.name), Method: zip.Deflate, NonUTF8: true,
			Modified: s.now().In(beijing)})
		if err == nil {
			_, err = w.Write([]byte(gbk(f.text)))
		}
		if err != nil {
			panic(err) // writing to memory does not fail
		}
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// billFiles is the text of both files (UTF-8, before GBK).
func (s *Sandbox) billFiles(day time.Time, rows []BillRow) (string, string) {
	const cn = "2006年01月02日 15:04:05"
	var d strings.Builder
	d.WriteString("#支付宝业务明细查询\n#账号：[" + s.ids.SellerID + "0156]\n")
	d.WriteString("#起始日期：[" + day.Format(cn) + "]   终止日期：[" + day.AddDate(0, 0, 1).Format(cn) + "]\n")
	d.WriteString("#-----------------------------------------业务明细列表----------------------------------------\n")
	d.WriteString(detailHeader + "\n")
	var nt, nr int
	var gross, refunded, fees int64
	for _, r := range rows {
		kind, amount, fee := "交易", r.Amount, r.Fee
		if r.Refund {
			kind, amount, fee = "退款", -r.Amount, -r.Fee
			nr, refunded = nr+1, refunded+r.Amount
		} else {
			nt, gross = nt+1, gross+r.Amount
		}
		fees += fee
		y := payment.FenToYuan
		// Identifier fields end with a TAB (PROVIDERS.md §1.5); 对方账户 is
		// the sandbox's buyer, masked as Alipay masks it.
		fmt.Fprintf(&d, "%s\t,%s\t,%s\t,%s,%s,%s,\t,\t,\t,\t,%s\t,%s,%s,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,%s\t,%s,0.00,\n",
			r.TradeNo, r.OutTradeNo, kind, csvSafe(r.Subject), r.Created.In(beijing).Format(timeLayout),
			r.Finished.In(beijing).Format(timeLayout), "*箱(sandbox***@alipay.example)", y(amount), y(amount), r.RequestNo, y(fee))
	}
	d.WriteString("#-----------------------------------------业务明细列表结束------------------------------------\n")
	fmt.Fprintf(&d, "#交易合计：%d笔，商家实收共%s元，商家优惠共0.00元\n", nt, payment.FenToYuan(gross))
	fmt.Fprintf(&d, "#退款合计：%d笔，商家实收退款共%s元，商家优惠退款共0.00元\n", nr, payment.FenToYuan(-refunded))
	d.WriteString("#导出时间：[" + s.now().In(beijing).Format(cn) + "]\n")

	net := gross - refunded
	var sum strings.Builder
	sum.WriteString("#支付宝业务汇总查询\n#账号：[" + s.ids.SellerID + "0156]\n")
	sum.WriteString("#起始日期：[" + day.Format(cn) + "]   终止日期：[" + day.AddDate(0, 0, 1).Format(cn) + "]\n")
	sum.WriteString(summaryHeader + "\n")
	// One store-less row and the 合计 row; 实收净额 is 商家实收 less 服务费
	// (the docs name the column, not its formula: the sandbox's reading).
	for _, first := range []string{"\t,\t", "合计,"} {
		fmt.Fprintf(&sum, "%s,%d,%d,%s,%s,0.00,0.00,0.00,%s,0.00,%s\n", first, nt, nr, payment.FenToYuan(net),
			payment.FenToYuan(net), payment.FenToYuan(fees), payment.FenToYuan(net-fees))
	}
	sum.WriteString("#导出时间：[" + s.now().In(beijing).Format(cn) + "]\n")
	return d.String(), sum.String()
}

// csvSafe keeps a subject inside its CSV field: the docs do not say how
// Alipay quotes a 商品名称 with a comma or quote, so the sandbox writes
// them full-width.
func csvSafe(s string) string {
	return strings.NewReplacer(",", "，", `"`, "“", "\n", " ", "\r", " ").Replace(s)
}

// gbk encodes s as GBK. A character GBK lacks (our "¥", U+00A5, is one:
// GBK has only the full-width "￥") becomes "?", as Java's
// String.getBytes("GBK") does; what Alipay writes for one is not
// documented.
func gbk(s string) string {
	enc := simplifiedchinese.GBK.NewEncoder()
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if e, err := enc.String(string(r)); err == nil {
			b.WriteString(e)
		} else {
			b.WriteByte('?')
		}
		s = s[n:]
	}
	return b.String()
}
