package wechat

import (
	"encoding/csv"
	"fmt"
	"strings"
	"time"

	"im2pay/payment"
)

// The trade bill's columns we read, by header name: legacy accounts lack
// some (应结订单金额), and the layout differs by bill_type (PROVIDERS.md §2.5).
const (
	colTime        = "交易时间"
	colTransaction = "微信订单号"
	colOutTradeNo  = "商户订单号"
	colState       = "交易状态"
	colCurrency    = "货币种类"
	colSettle      = "应结订单金额"
	colOrderAmount = "订单金额"
	colRefundID    = "微信退款单号"
	colOutRefundNo = "商户退款单号"
	colRefund      = "退款金额"
	colFee         = "手续费"

	colSumCount  = "总交易单数"
	colSumSettle = "应结订单总金额"
	colSumRefund = "退款总金额"
	colSumFee    = "手续费总金额"
)

// ParseBill parses a trade bill (bill_type ALL, UTF-8): the detail header,
// detail rows, the summary header and its row, every value of a row
// prefixed with a backtick. The summary's count and sums must equal the
// rows'. 手续费 has 5 decimals: the summed check is exact in 1e-5 yuan,
// each line's fee is rounded half away from zero to the fen, and Fees is
// the summary's 手续费总金额 rounded the same way (so the lines' fees may
// differ from Fees by rounding, at most half a fen per line).
func ParseBill(raw []byte) (payment.Bill, error) {
	b := payment.Bill{Method: payment.WeChat}
	lines := strings.Split(strings.ReplaceAll(strings.TrimPrefix(string(raw), "\ufeff"), "\r\n", "\n"), "\n")
	var col, sumCol map[string]int
	var fee5 int64 // 1e-5 yuan
	for i, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		rec, err := csv.NewReader(strings.NewReader(line)).Read()
		if err != nil {
			return b, fmt.Errorf("bill line %d: %w: %w", i+1, payment.ErrMalformed, err)
		}
		ticked := strings.HasPrefix(rec[0], "`")
		for j := range rec {
			rec[j] = strings.TrimPrefix(rec[j], "`")
		}
		switch {
		case col == nil:
			if col, err = header(rec, colTime, colTransaction, colOutTradeNo, colState, colCurrency, colRefundID,
				colOutRefundNo, colRefund, colFee); err != nil {
				return b, err
			}
		case sumCol == nil && !ticked:
			if sumCol, err = header(rec, colSumCount, colSumSettle, colSumRefund, colSumFee); err != nil {
				return b, err
			}
		case sumCol == nil:
			l, f, err := detail(rec, col)
			if err != nil {
				return b, fmt.Errorf("bill line %d: %w", i+1, err)
			}
			if l.Kind == payment.BillPayment {
				b.Gross += l.Amount
			} else {
				b.Refund += l.Amount
			}
			fee5 += f
			b.Lines = append(b.Lines, l)
		default:
			return b, summary(rec, sumCol, &b, fee5)
		}
	}
	return b, fmt.Errorf("bill has no summary row: %w", payment.ErrMalformed)
}

func header(rec []string, need ...string) (map[string]int, error) {
	col := map[string]int{}
	for j, h := range rec {
		col[strings.TrimSpace(h)] = j
	}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("bill header lacks %s: %w", n, payment.ErrMalformed)
		}
	}
	return col, nil
}

func field(rec []string, col map[string]int, name string) string {
	if j, ok := col[name]; ok && j < len(rec) {
		return rec[j]
	}
	return ""
}

// detail reads one row: SUCCESS is a payment, REFUND a refund initiated
// that day (its 退款状态 is frozen at the bill's making: the refund's
// outcome is the refund query's to say, PROVIDERS.md §2.5). REVOKED
// belongs to 付款码 payments, which we do not make.
func detail(rec []string, col map[string]int) (payment.BillLine, int64, error) {
	get := func(n string) string { return field(rec, col, n) }
	at, err := time.ParseInLocation("2006-01-02 15:04:05", get(colTime), cst)
	if err != nil {
		return payment.BillLine{}, 0, fmt.Errorf("交易时间 %q: %w", get(colTime), payment.ErrMalformed)
	}
	fee, err := signed(get(colFee), 5)
	if err != nil {
		return payment.BillLine{}, 0, err
	}
	l := payment.BillLine{TradeNo: get(colTransaction), OutTradeNo: get(colOutTradeNo), Currency: get(colCurrency),
		At: at, Fee: roundFen(fee)}
	switch get(colState) {
	case "SUCCESS":
		s := get(colSettle)
		if _, ok := col[colSettle]; !ok {
			s = get(colOrderAmount) // legacy accounts (§2.5)
		}
		l.Kind = payment.BillPayment
		l.Amount, err = signed(s, 2)
	case "REFUND":
		l.Kind, l.RequestNo, l.RefundID = payment.BillRefund, get(colOutRefundNo), get(colRefundID)
		l.Amount, err = signed(get(colRefund), 2)
		if err == nil && (l.RequestNo == "" || l.RefundID == "") {
			err = fmt.Errorf("REFUND row without refund numbers: %w", payment.ErrMalformed)
		}
	default:
		err = fmt.Errorf("交易状态 %q: %w", get(colState), payment.ErrMalformed)
	}
	if err == nil && (l.Amount <= 0 || l.TradeNo == "" || l.Currency == "") {
		err = fmt.Errorf("row %v: %w", rec, payment.ErrMalformed)
	}
	return l, fee, err
}

// summary checks the summary row against the lines and records its totals.
func summary(rec []string, col map[string]int, b *payment.Bill, fee5 int64) error {
	get := func(n string) string { return field(rec, col, n) }
	settle, err1 := signed(get(colSumSettle), 2)
	refund, err2 := signed(get(colSumRefund), 2)
	fee, err3 := signed(get(colSumFee), 5)
	if get(colSumCount) != fmt.Sprint(len(b.Lines)) || err1 != nil || err2 != nil || err3 != nil ||
		settle != b.Gross || refund != b.Refund || fee != fee5 {
		return fmt.Errorf("bill summary %v disagrees with its %d lines (应结 %s, 退款 %s, 手续费 %s): %w",
			rec, len(b.Lines), payment.FenToYuan(b.Gross), payment.FenToYuan(b.Refund), payment.FormatMinor(fee5, 5), payment.ErrMalformed)
	}
	b.Count, b.Fees = len(b.Lines), roundFen(fee)
	return nil
}

// roundFen rounds 1e-5 yuan to fen, half away from zero (0.40800 → 0.41,
// -0.06000 → -0.06, 0.00500 → 0.01). WeChat's own rounding of fees into
// settlement is not documented in PROVIDERS.md.
func roundFen(v int64) int64 {
	if v < 0 {
		return -((-v + 500) / 1000)
	}
	return (v + 500) / 1000
}

// signed parses a possibly negative decimal into units of 10^-decimals.
func signed(s string, decimals int) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	n, err := payment.ParseMinor(strings.TrimPrefix(s, "-"), decimals)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	if neg {
		n = -n
	}
	return n, nil
}
