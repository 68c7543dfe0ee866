package wechatsandbox

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"im2pay/payment"
	"im2pay/payment/wechat"
)

// FeeRateBP is the sandbox's fee (手续费) in basis points: 0.6 %, written
// 费率 "0.60%" (the rate is each merchant's contract; 0.6 % is common and
// the docs' sample rate, unverified for any real merchant).
const FeeRateBP = 60

// Bill timing on the sandbox's clock (PROVIDERS.md §2.5): ready at 10:00
// the next day (made from 09:00, fetch after 10:00), the last 3 months only,
// the download URL valid 5 min (an older page: 30 s).
const (
	BillURLLife   = 5 * time.Minute
	billReadyHour = 10
	billHistory   = 3 // months
)

// BillRow is one trade bill row before it is written, for tests that plant
// a difference with EditBill. Amount is positive fen (the payment, or the
// refund); Fee5 is 1e-5 yuan, positive (a refund's is written negative,
// the fee returned: the docs do not say whether WeChat returns the fee on
// a refund; the sandbox returns the refunded amount's share).
type BillRow struct {
	At                    time.Time
	TransactionID         string
	OutTradeNo, TradeType string
	Refund                bool
	RefundID, OutRefundNo string
	RefundStatus          string // frozen when the bill is made (§2.5)
	Amount, OrderTotal    int64  // the row's money; the order's total
	Fee5                  int64
	Description           string
}

type billToken struct {
	day     time.Time
	expires time.Time
}

// EditBill passes every generated day's rows through f (nil: none), so a
// test can drop a payment, change an amount or add a refund we never made;
// the summary row is computed from the edited rows.
func (s *Sandbox) EditBill(f func(day time.Time, rows []BillRow) []BillRow) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.billEdit = f
}

// TamperNextBillDownload makes the next bill download differ by one byte
// from the bill whose SHA-1 the tradebill answer gave: what a changed file
// in transit would look like (the download is unsigned, §2.5).
func (s *Sandbox) TamperNextBillDownload() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tamperBill = true
}

// tradeBill answers GET /v3/bill/tradebill (PROVIDERS.md §2.5). Only
// bill_type ALL without tar_type is played. The error codes are not in
// PROVIDERS.md: NO_STATEMENT_EXIST and STATEMENT_CREATING are those of
// WeChat's API page (unverified here); a date out of range is a
// PARAM_ERROR (the docs do not give the code).
func (s *Sandbox) tradeBill(r *http.Request, _ []byte) (int, any) {
	q := r.URL.Query()
	now := s.now().In(cst)
	day, err := time.ParseInLocation("2006-01-02", q.Get("bill_date"), cst)
	switch {
	case err != nil || (q.Get("bill_type") != "" && q.Get("bill_type") != "ALL") || q.Get("tar_type") != "":
		return 0, fail(http.StatusBadRequest, "PARAM_ERROR", "沙箱仅支持 bill_date=yyyy-MM-dd、bill_type=ALL、不压缩")
	case !day.Before(startOfDay(now)) || day.Before(startOfDay(now).AddDate(0, -billHistory, 0)):
		return 0, fail(http.StatusBadRequest, "PARAM_ERROR", "账单日期超出可下载范围（仅支持三个月内的历史日期）")
	case now.Before(day.AddDate(0, 0, 1).Add(billReadyHour * time.Hour)):
		return 0, fail(http.StatusBadRequest, wechat.CodeStatementCreating, "账单生成中，请稍后再试")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := s.billRowsLocked(day)
	if len(rows) == 0 {
		return 0, fail(http.StatusBadRequest, wechat.CodeNoStatement, "账单文件不存在")
	}
	sum := sha1.Sum(s.billText(rows))
	token := randString(32, alnum)
	if s.billTokens == nil {
		s.billTokens = map[string]billToken{}
	}
	s.billTokens[token] = billToken{day: day, expires: s.now().Add(BillURLLife)}
	// The real host: our client's transport moves it to the sandbox.
	return http.StatusOK, map[string]string{"hash_type": "SHA1", "hash_value": hex.EncodeToString(sum[:]),
		"download_url": "https://api.mch.weixin.qq.com/v3/billdownload/file?token=" + token}
}

// billDownload serves GET /v3/billdownload/file: the request is signed and
// checked like every API call, the answer carries no WeChat Pay signature
// (PROVIDERS.md §2.5).
func (s *Sandbox) billDownload(w http.ResponseWriter, r *http.Request) {
	if e := s.authenticate(r, nil); e != nil {
		s.reply(w, e.status, e)
		return
	}
	s.mu.Lock()
	tok, found := s.billTokens[r.URL.Query().Get("token")]
	var body []byte
	if found && !s.now().After(tok.expires) {
		body = s.billText(s.billRowsLocked(tok.day))
		if s.tamperBill {
			s.tamperBill = false
			body = []byte(strings.Replace(string(body), "`SUCCESS", "`REFUND", 1))
		}
	}
	s.mu.Unlock()
	if body == nil {
		// The docs do not give the answer to an expired URL.
		s.reply(w, http.StatusBadRequest, fail(http.StatusBadRequest, "INVALID_REQUEST", "下载地址已过期"))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func startOfDay(t time.Time) time.Time {
	y, m, d := t.In(cst).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, cst)
}

// billRowsLocked is the day's rows: payments that succeeded that day and
// refunds initiated that day, never unpaid orders (§2.5). A refund's
// status is what it was when the bill was made (09:00 the next day) and is
// never updated later. Callers hold s.mu.
func (s *Sandbox) billRowsLocked(day time.Time) []BillRow {
	end := day.AddDate(0, 0, 1)
	made := end.Add(9 * time.Hour)
	in := func(t time.Time) bool { return !t.Before(day) && t.Before(end) }
	var rows []BillRow
	for _, o := range s.orders {
		if o.transactionID == "" || o.successTime.IsZero() {
			continue
		}
		if in(o.successTime) {
			rows = append(rows, BillRow{At: o.successTime, TransactionID: o.transactionID, OutTradeNo: o.outTradeNo,
				TradeType: o.tradeType, Amount: o.amount, OrderTotal: o.amount, Fee5: o.amount * FeeRateBP / 10, Description: o.description})
		}
		for _, rf := range o.refunds {
			if !in(rf.created) {
				continue
			}
			st := wechat.RefundStatusProcessing
			if rf.status != st && !rf.due.After(made) {
				st = rf.status
			}
			rows = append(rows, BillRow{At: rf.created, TransactionID: o.transactionID, OutTradeNo: o.outTradeNo,
				TradeType: o.tradeType, Refund: true, RefundID: rf.refundID, OutRefundNo: rf.outRefundNo, RefundStatus: st,
				Amount: rf.amount, OrderTotal: o.amount, Fee5: rf.amount * FeeRateBP / 10, Description: o.description})
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].At.Equal(rows[j].At) {
			return rows[i].At.Before(rows[j].At)
		}
		return rows[i].OutTradeNo+rows[i].OutRefundNo < rows[j].OutTradeNo+rows[j].OutRefundNo
	})
	if s.billEdit != nil {
		rows = s.billEdit(day, rows)
	}
	return rows
}

// billHeader is the ALL bill's detail header (PROVIDERS.md §2.5).
const billHeader = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类," +
	"应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率," +
	"订单金额,申请退款金额,费率备注"

const billSummaryHeader = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"

// billText writes the bill, UTF-8 without a BOM (a BOM is unverified,
// §2.5), every row value prefixed with a backtick. What a payment row has
// in the refund columns, and a refund row in 应结订单金额 and 订单金额, the
// docs do not say: the sandbox writes "0"/"0.00" and 0.00, so the
// summary's sums are the payments' and the refunds' own.
func (s *Sandbox) billText(rows []BillRow) []byte {
	var b strings.Builder
	b.WriteString(billHeader + "\n")
	var gross, refunded, fee5 int64
	for _, r := range rows {
		y := payment.FenToYuan
		settle, state, refundID, outRefundNo, refund, kind, rstate, fee := y(r.Amount), "SUCCESS", "0", "0", "0.00", "", "", r.Fee5
		if r.Refund {
			settle, state, refundID, outRefundNo, refund, kind, rstate, fee = "0.00", "REFUND", r.RefundID, r.OutRefundNo,
				y(r.Amount), "ORIGINAL", r.RefundStatus, -r.Fee5
			refunded += r.Amount
		} else {
			gross += r.Amount
		}
		fee5 += fee
		order := settle
		vals := []string{r.At.In(cst).Format("2006-01-02 15:04:05"), s.keys.AppID, s.keys.MchID, "0", "", r.TransactionID,
			r.OutTradeNo, "oSandboxPayer000000000000000", r.TradeType, state, "OTHERS", "CNY", settle, "0.00", refundID,
			outRefundNo, refund, "0.00", kind, rstate, strings.NewReplacer(",", "，", "`", "'", "\n", " ").Replace(r.Description),
			"", payment.FormatMinor(fee, 5), fmt.Sprintf("%d.%02d%%", FeeRateBP/100, FeeRateBP%100), order, refund, ""}
		b.WriteString("`" + strings.Join(vals, ",`") + "\n")
	}
	b.WriteString(billSummaryHeader + "\n")
	sum := []string{fmt.Sprint(len(rows)), payment.FenToYuan(gross), payment.FenToYuan(refunded), "0.00",
		payment.FormatMinor(fee5, 5), payment.FenToYuan(gross), payment.FenToYuan(refunded)}
	b.WriteString("`" + strings.Join(sum, ",`") + "\n")
	return []byte(b.String())
}

// Now is the sandbox's clock (the real time plus what Advance added).
func (s *Sandbox) Now() time.Time { return s.now() }
