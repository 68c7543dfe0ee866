package alipay

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"im2pay/payment"
)

// The 业务明细 columns we read, looked up by their header names (full-width
// brackets), since newer exports add columns (PROVIDERS.md §1.5).
const (
	colTradeNo    = "支付宝交易号"
	colOutTradeNo = "商户订单号"
	colKind       = "业务类型"
	colFinished   = "完成时间"
	colAmount     = "订单金额（元）"
	colReceived   = "商家实收（元）"
	colRequestNo  = "退款批次号/请求号"
	colFee        = "服务费（元）"
)

// The 汇总 file's columns we check against the lines.
const (
	colSumTrades  = "交易订单总笔数"
	colSumRefunds = "退款订单总笔数"
	colSumFee     = "服务费（元）"
)

// Footer lines of 业务明细: "#交易合计：N笔，商家实收共X元，商家优惠共Y元" and
// "#退款合计：N笔，商家实收退款共-X元，商家优惠退款共Y元" (PROVIDERS.md §1.5).
var (
	tradeFooterRE  = regexp.MustCompile(`^#交易合计：(\d+)笔，商家实收共(-?[0-9.]+)元`)
	refundFooterRE = regexp.MustCompile(`^#退款合计：(\d+)笔，商家实收退款共(-?[0-9.]+)元`)
)

// ParseBill reads Alipay's trade bill zip (<pid>0156_<yyyyMMdd>.csv.zip)
// for day: the 业务明细 file's lines checked against its own footer, and
// the 汇总 file's counts and fee total when it is there. Content and entry
// names are GBK (PROVIDERS.md §1.5).
func ParseBill(raw []byte, day time.Time) (payment.Bill, error) {
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		return payment.Bill{}, fmt.Errorf("alipay: bill zip: %w: %w", payment.ErrMalformed, err)
	}
	var detail, summary []byte
	for _, f := range zr.File {
		name := entryName(f)
		switch {
		case strings.HasSuffix(name, "_业务明细.csv"):
			detail, err = readEntry(f)
		case strings.HasSuffix(name, "_业务明细(汇总).csv"):
			summary, err = readEntry(f)
		}
		if err != nil {
			return payment.Bill{}, fmt.Errorf("alipay: bill entry %q: %w", name, err)
		}
	}
	if detail == nil {
		return payment.Bill{}, fmt.Errorf("alipay: bill zip holds no 业务明细.csv: %w", payment.ErrMalformed)
	}
	b, err := ParseDetail(detail)
	if err != nil {
		return b, err
	}
	if summary != nil {
		if err := checkSummary(summary, b); err != nil {
			return payment.Bill{}, err
		}
	}
	b.Day, b.Raw = day, raw
	return b, nil
}

// entryName decodes a zip entry name: GBK unless the UTF-8 flag is set
// (Alipay's names carry no flag; PROVIDERS.md §1.5, unverified on a real
// file, so a name that is valid UTF-8 is also accepted as it is).
func entryName(f *zip.File) string {
	if !f.NonUTF8 || utf8.ValidString(f.Name) {
		return f.Name
	}
	s, err := simplifiedchinese.GBK.NewDecoder().String(f.Name)
	if err != nil {
		return f.Name
	}
	return s
}

// readEntry reads and GBK-decodes one entry (at most 64 MiB: a day's bill
// of a top-up service is far smaller; a bigger one is refused, not read).
func readEntry(f *zip.File) ([]byte, error) {
	const limit = 64 << 20
	if f.UncompressedSize64 > limit {
		return nil, fmt.Errorf("%d bytes: %w", f.UncompressedSize64, payment.ErrMalformed)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	return simplifiedchinese.GBK.NewDecoder().Bytes(b)
}

// ParseDetail parses a decoded (UTF-8) 业务明细 file: '#' lines, the
// header row, data rows whose values may end with a TAB, and the footer
// totals, which must agree with the rows.
func ParseDetail(text []byte) (payment.Bill, error) {
	b := payment.Bill{Method: payment.Alipay}
	var col map[string]int
	var tradeN, refundN int
	var tradeSum, refundSum int64 // 商家实收, refunds negative as the file has them
	var footTrade, footRefund []string
	for i, line := range strings.Split(strings.ReplaceAll(string(text), "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			if m := tradeFooterRE.FindStringSubmatch(line); m != nil {
				footTrade = m
			} else if m := refundFooterRE.FindStringSubmatch(line); m != nil {
				footRefund = m
			}
			continue
		}
		rec, err := csv.NewReader(strings.NewReader(line)).Read()
		if err != nil {
			return b, fmt.Errorf("alipay: bill line %d: %w: %w", i+1, payment.ErrMalformed, err)
		}
		for j := range rec {
			rec[j] = strings.TrimSpace(rec[j]) // the TAB after identifiers
		}
		if col == nil {
			if col, err = header(rec, colTradeNo, colOutTradeNo, colKind, colFinished, colAmount, colReceived, colRequestNo, colFee); err != nil {
				return b, err
			}
			continue
		}
		l, received, err := detailLine(rec, col)
		if err != nil {
			return b, fmt.Errorf("alipay: bill line %d: %w", i+1, err)
		}
		if l.Kind == payment.BillPayment {
			tradeN, tradeSum, b.Gross = tradeN+1, tradeSum+received, b.Gross+l.Amount
		} else {
			refundN, refundSum, b.Refund = refundN+1, refundSum+received, b.Refund+l.Amount
		}
		b.Fees += l.Fee
		b.Lines = append(b.Lines, l)
	}
	if col == nil || footTrade == nil || footRefund == nil {
		return b, fmt.Errorf("alipay: bill has no header or no 交易合计/退款合计 footer: %w", payment.ErrMalformed)
	}
	if err := footer("交易合计", footTrade, tradeN, tradeSum); err != nil {
		return b, err
	}
	if err := footer("退款合计", footRefund, refundN, refundSum); err != nil {
		return b, err
	}
	b.Count = len(b.Lines)
	return b, nil
}

// header maps column names to positions and insists on the ones we read.
func header(rec []string, need ...string) (map[string]int, error) {
	col := map[string]int{}
	for j, h := range rec {
		col[h] = j
	}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("alipay: bill header lacks %s: %w", n, payment.ErrMalformed)
		}
	}
	return col, nil
}

// detailLine reads one data row. Refund rows (退款) carry negative amounts
// and fees; the line turns them positive for the refund and keeps the fee
// signed as the contract wants (charged positive, returned negative).
func detailLine(rec []string, col map[string]int) (payment.BillLine, int64, error) {
	get := func(n string) string {
		if j := col[n]; j < len(rec) {
			return rec[j]
		}
		return ""
	}
	amount, err1 := signedYuan(get(colAmount))
	received, err2 := signedYuan(get(colReceived))
	fee, err3 := signedYuan(get(colFee))
	at, err4 := time.ParseInLocation(timeLayout, get(colFinished), beijing)
	if err := firstErr(err1, err2, err3, err4); err != nil {
		return payment.BillLine{}, 0, fmt.Errorf("%w: %w", payment.ErrMalformed, err)
	}
	l := payment.BillLine{OutTradeNo: get(colOutTradeNo), TradeNo: get(colTradeNo), Currency: "CNY", At: at, Fee: fee}
	switch get(colKind) {
	case "交易":
		l.Kind, l.Amount = payment.BillPayment, amount
		if amount <= 0 {
			return l, 0, fmt.Errorf("交易 amount %d: %w", amount, payment.ErrMalformed)
		}
	case "退款":
		l.Kind, l.Amount, l.RequestNo = payment.BillRefund, -amount, get(colRequestNo)
		// The refund id our refund client records: trade_no-out_request_no.
		l.RefundID = l.TradeNo + "-" + l.RequestNo
		if amount >= 0 || l.RequestNo == "" {
			return l, 0, fmt.Errorf("退款 row with amount %d, request %q: %w", amount, l.RequestNo, payment.ErrMalformed)
		}
	default:
		return l, 0, fmt.Errorf("业务类型 %q: %w", get(colKind), payment.ErrMalformed)
	}
	if l.TradeNo == "" {
		return l, 0, fmt.Errorf("no 支付宝交易号: %w", payment.ErrMalformed)
	}
	return l, received, nil
}

// footer checks a 合计 line against the rows it sums.
func footer(what string, m []string, n int, sum int64) error {
	total, err := signedYuan(m[2])
	if m[1] != fmt.Sprint(n) || err != nil || total != sum {
		return fmt.Errorf("alipay: bill %s says %s笔 %s元, the lines %d笔 %s元: %w",
			what, m[1], m[2], n, payment.FenToYuan(sum), payment.ErrMalformed)
	}
	return nil
}

// checkSummary compares the 汇总 file's 合计 row (trade and refund counts,
// 服务费) with the detail's lines.
func checkSummary(text []byte, b payment.Bill) error {
	var col map[string]int
	for _, line := range strings.Split(strings.ReplaceAll(string(text), "\r\n", "\n"), "\n") {
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		rec, err := csv.NewReader(strings.NewReader(line)).Read()
		if err != nil {
			return fmt.Errorf("alipay: bill 汇总: %w: %w", payment.ErrMalformed, err)
		}
		for j := range rec {
			rec[j] = strings.TrimSpace(rec[j])
		}
		if col == nil {
			if col, err = header(rec, colSumTrades, colSumRefunds, colSumFee); err != nil {
				return err
			}
			continue
		}
		if rec[0] != "合计" {
			continue
		}
		var trades, refunds int
		for _, l := range b.Lines {
			if l.Kind == payment.BillPayment {
				trades++
			} else {
				refunds++
			}
		}
		fee, err := signedYuan(at(rec, col[colSumFee]))
		if at(rec, col[colSumTrades]) != fmt.Sprint(trades) || at(rec, col[colSumRefunds]) != fmt.Sprint(refunds) || err != nil || fee != b.Fees {
			return fmt.Errorf("alipay: bill 汇总 合计 %v disagrees with the lines (%d trades, %d refunds, fee %s): %w",
				rec, trades, refunds, payment.FenToYuan(b.Fees), payment.ErrMalformed)
		}
		return nil
	}
	return fmt.Errorf("alipay: bill 汇总 has no 合计 row: %w", payment.ErrMalformed)
}

func at(rec []string, j int) string {
	if j < len(rec) {
		return rec[j]
	}
	return ""
}

// signedYuan parses "-12.34" or "12.34" yuan into fen exactly.
func signedYuan(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	n, err := payment.ParseMinor(strings.TrimPrefix(s, "-"), 2)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	if neg {
		n = -n
	}
	return n, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
