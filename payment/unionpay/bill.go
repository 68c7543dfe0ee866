package unionpay

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"im2pay/payment"
)

// Bills are UnionPay's settlement files, fetched by file transfer (文件传输,
// txnType 76) from its own host, PROVIDERS.md §3.5 (UnionPay's demo
// Form_7_2_FileTransfer): the answer's fileContent is the base64 of a
// zlib-deflated zip, which holds the ZM detail file (GBK, fixed width) and
// the RD summary. We read the ZM file; the RD file's layout is not
// documented beyond its headings (§3.5), so Bill's totals are summed from
// the ZM records.

var _ payment.Biller = (*Provider)(nil)

const (
	txnFileTransfer = "76"
	// CodeNoFile is the file transfer's "no such file" (§3.2, §3.5).
	CodeNoFile = "98"
	// maxFileAnswer bounds a file transfer answer (the base64 file inside
	// a signed message); maxFile bounds what the zip may inflate to.
	maxFileAnswer = 64 << 20
	maxFile       = 256 << 20
)

// SetClock replaces the clock that decides whether a day's file is due
// (and checks certificates): the app's one clock.
func (p *Provider) SetClock(now func() time.Time) { p.now = now }

// Bill fetches the settlement files of the Beijing day containing day
// (settleDate MMDD) and parses its ZM file. A 98 answer is ErrBillNotReady
// before BillReadyAfter has passed since the day's end and ErrNoBill after
// it; a day that has not ended is ErrBillNotReady without asking. settleDate
// carries no year, so days more than 300 days old are refused: UnionPay
// could only read them as this year's.
func (p *Provider) Bill(ctx context.Context, day time.Time) (payment.Bill, error) {
	if p.cfg.FileTransURL == "" {
		return payment.Bill{}, errors.New("unionpay: bill needs file_trans_url in the config")
	}
	d := day.In(beijing)
	d = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, beijing)
	now := p.now()
	end := d.AddDate(0, 0, 1)
	if now.Before(end) {
		return payment.Bill{}, fmt.Errorf("unionpay: bill of %s: the day has not ended: %w", d.Format(time.DateOnly), payment.ErrBillNotReady)
	}
	if now.Sub(d) > 300*24*time.Hour {
		return payment.Bill{}, fmt.Errorf("unionpay: bill of %s: settleDate MMDD cannot name a day that old", d.Format(time.DateOnly))
	}
	f, err := p.callLimit(ctx, p.cfg.FileTransURL, map[string]string{
		"version": version, "encoding": encoding, "signMethod": signMethod,
		"txnType": txnFileTransfer, "txnSubType": "01", "bizType": "000000", "accessType": accessDirect,
		"merId": p.cfg.MerID, "settleDate": d.Format("0102"), "txnTime": now.In(beijing).Format(timeLayout),
		"fileType": "00", "certId": p.certID,
	}, maxFileAnswer)
	if err != nil {
		return payment.Bill{}, fmt.Errorf("unionpay: file transfer for %s: %w", d.Format(time.DateOnly), err)
	}
	switch code := f["respCode"]; code {
	case CodeSuccess:
	case CodeNoFile:
		if now.Before(end.Add(p.ready)) {
			return payment.Bill{}, fmt.Errorf("unionpay: settlement file of %s: 98 before %s: %w",
				d.Format(time.DateOnly), end.Add(p.ready).Format(time.DateTime), payment.ErrBillNotReady)
		}
		return payment.Bill{}, fmt.Errorf("unionpay: settlement file of %s: 98: %w", d.Format(time.DateOnly), payment.ErrNoBill)
	default:
		return payment.Bill{}, fmt.Errorf("unionpay: file transfer for %s: respCode %s %s", d.Format(time.DateOnly), code, f["respMsg"])
	}
	if f["merId"] != p.cfg.MerID {
		return payment.Bill{}, fmt.Errorf("unionpay: file transfer answer for merId %q: %w", f["merId"], payment.ErrWrongMerchant)
	}
	zipped, err := InflateFileContent(f["fileContent"])
	if err != nil {
		return payment.Bill{}, fmt.Errorf("unionpay: settlement file of %s: %w", d.Format(time.DateOnly), err)
	}
	b, err := ParseSettlementZip(zipped, p.cfg.MerID, d)
	if err != nil {
		return payment.Bill{}, err
	}
	b.RawName = f["fileName"]
	if b.RawName == "" {
		b.RawName = p.cfg.MerID + "_" + d.Format("20060102") + ".zip"
	}
	return b, nil
}

// InflateFileContent undoes fileContent: base64, then zlib inflate (the
// demo's order, §3.5). The result is the zip.
func InflateFileContent(s string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) == 0 {
		return nil, fmt.Errorf("fileContent is not base64: %w", payment.ErrMalformed)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("fileContent is not zlib: %v: %w", err, payment.ErrMalformed)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxFile+1))
	if err != nil || len(out) > maxFile {
		return nil, fmt.Errorf("fileContent does not inflate within %d bytes (%v): %w", maxFile, err, payment.ErrMalformed)
	}
	return out, nil
}

// ZMName is the ZM file's name in the zip: INN + yyMMdd + 88 + ZM_ + merId
// (§3.5, from UnionPay's sample; what 88 means is unverified).
func ZMName(merID string, day time.Time) string {
	return "INN" + day.Format("060102") + "88ZM_" + merID
}

// ParseSettlementZip reads the zip of merID's settlement files of day
// (midnight, Beijing) and parses its ZM file. A zip without that ZM file
// is malformed; ZME (errors) and RD files are kept in Raw only.
func ParseSettlementZip(zipped []byte, merID string, day time.Time) (payment.Bill, error) {
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		return payment.Bill{}, fmt.Errorf("unionpay: settlement zip: %v: %w", err, payment.ErrMalformed)
	}
	want := ZMName(merID, day)
	for _, zf := range zr.File {
		if zf.Name != want {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return payment.Bill{}, fmt.Errorf("unionpay: %s: %v: %w", want, err, payment.ErrMalformed)
		}
		data, err := io.ReadAll(io.LimitReader(rc, maxFile+1))
		rc.Close()
		if err != nil || len(data) > maxFile {
			return payment.Bill{}, fmt.Errorf("unionpay: %s unreadable (%v): %w", want, err, payment.ErrMalformed)
		}
		lines, err := ParseZM(data, merID, day)
		if err != nil {
			return payment.Bill{}, err
		}
		b := payment.Bill{Method: payment.Card, Day: day, Lines: lines, Raw: zipped}
		for _, l := range lines {
			b.Count++
			b.Fees += l.Fee
			if l.Kind == payment.BillPayment {
				b.Gross += l.Amount
			} else {
				b.Refund += l.Amount
			}
		}
		return b, nil
	}
	return payment.Bill{}, fmt.Errorf("unionpay: settlement zip has no %s: %w", want, payment.ErrMalformed)
}

// ZMWidths are the ZM record's field widths in characters, one space
// between fields (§3.5: the demo's parseZMFile, checked on the sample; the
// last two are reserved). A record is 607 characters.
var ZMWidths = []int{3, 11, 11, 6, 10, 19, 12, 4, 2, 21, 2, 32, 2, 6, 10, 13, 13, 4, 15, 2, 2, 6, 2, 4, 32, 1,
	21, 15, 1, 15, 32, 13, 13, 8, 32, 13, 13, 12, 2, 1, 32, 98}

// ZM field positions (index into ZMWidths) that we read, named as §3.5.
const (
	ZMTxnCode      = 0  // 交易代码 (S56 for consumption in the sample)
	ZMTraceTime    = 4  // 交易传输时间 MMDDhhmmss
	ZMAmount       = 6  // 交易金额, 12 digits of fen
	ZMQueryID      = 9  // 查询流水号
	ZMOrderID      = 11 // 商户订单号
	ZMFee          = 15 // 商户手续费, D/C + 12 digits
	ZMSettleAmount = 16 // 结算金额, C/D + 12 digits
	ZMTxnType      = 19 // 交易类型
	ZMTxnSubType   = 20 // 交易子类
	ZMBizType      = 21 // 业务类型
	ZMOrigQueryID  = 26 // 原交易查询流水号
	ZMMerID        = 27 // 商户代码
	ZMSubMerName   = 30 // 二级商户简称
	ZMNet          = 32 // 清算净额
	ZMReserved     = 34 // 商户自定义域 (reqReserved, §3.4)
	ZMFields       = 42
)

// ZMRecordLen is a record's length in characters.
const ZMRecordLen = 607

// ParseZM parses a ZM file (GBK, CRLF) into bill lines: txnType 01
// (消费) is a payment named by orderId and queryId; 04 (退货) and 31
// (消费撤销) are refunds of the consumption origQryId, named by their own
// orderId (our refund request number) and queryId, with our order number
// from 商户自定义域 (we send it as reqReserved, which §3.4 says the
// settlement file echoes; "" for a refund made in the merchant portal).
// Other txnTypes are refused: a record we cannot place must not vanish.
//
// Where §3.5 is silent we chose: widths count characters after GBK
// decoding (the demo's parseZMFile cuts a decoded line); a record whose
// trailing spaces were trimmed is padded back; 商户手续费 "D" is a fee
// charged to us (借记) and "C" one returned (贷记); the file has no
// currency field, so lines are CNY (the RD file's 清算币种).
func ParseZM(data []byte, merID string, day time.Time) ([]payment.BillLine, error) {
	text, err := simplifiedchinese.GBK.NewDecoder().Bytes(data)
	if err != nil {
		return nil, fmt.Errorf("unionpay: ZM file is not GBK: %v: %w", err, payment.ErrMalformed)
	}
	var lines []payment.BillLine
	for n, line := range strings.Split(string(text), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		f, err := splitZM(line)
		if err != nil {
			return nil, fmt.Errorf("unionpay: ZM line %d: %w", n+1, err)
		}
		l, err := zmLine(f, merID, day)
		if err != nil {
			return nil, fmt.Errorf("unionpay: ZM line %d (queryId %q): %w", n+1, f[ZMQueryID], err)
		}
		lines = append(lines, l)
	}
	return lines, nil
}

// splitZM cuts a record into its trimmed fields.
func splitZM(line string) ([]string, error) {
	r := []rune(line)
	// The fields before the two reserved ones must be there whole.
	minLen := ZMRecordLen - ZMWidths[ZMFields-1] - ZMWidths[ZMFields-2] - 2
	if len(r) < minLen || len(r) > ZMRecordLen {
		return nil, fmt.Errorf("record of %d characters, want %d: %w", len(r), ZMRecordLen, payment.ErrMalformed)
	}
	for len(r) < ZMRecordLen {
		r = append(r, ' ')
	}
	f := make([]string, 0, ZMFields)
	pos := 0
	for i, w := range ZMWidths {
		f = append(f, strings.TrimSpace(string(r[pos:pos+w])))
		pos += w
		if i < len(ZMWidths)-1 {
			if r[pos] != ' ' {
				return nil, fmt.Errorf("no space after field %d at %d: %w", i+1, pos, payment.ErrMalformed)
			}
			pos++
		}
	}
	return f, nil
}

func zmLine(f []string, merID string, day time.Time) (payment.BillLine, error) {
	if f[ZMMerID] != merID {
		return payment.BillLine{}, fmt.Errorf("record of merchant %q: %w", f[ZMMerID], payment.ErrWrongMerchant)
	}
	amount, err := digits(f[ZMAmount], 12)
	if err != nil || amount <= 0 {
		return payment.BillLine{}, fmt.Errorf("交易金额 %q: %w", f[ZMAmount], payment.ErrMalformed)
	}
	fee, err := signed(f[ZMFee], 'D', 'C')
	if err != nil {
		return payment.BillLine{}, fmt.Errorf("商户手续费 %q: %w", f[ZMFee], payment.ErrMalformed)
	}
	at, err := traceTime(f[ZMTraceTime], day)
	if err != nil {
		return payment.BillLine{}, err
	}
	if f[ZMQueryID] == "" {
		return payment.BillLine{}, fmt.Errorf("no 查询流水号: %w", payment.ErrMalformed)
	}
	l := payment.BillLine{Amount: amount, Fee: fee, Currency: "CNY", At: at}
	switch f[ZMTxnType] {
	case txnConsume:
		l.Kind, l.OutTradeNo, l.TradeNo = payment.BillPayment, f[ZMOrderID], f[ZMQueryID]
	case txnRefund, "31":
		if f[ZMOrigQueryID] == "" {
			return payment.BillLine{}, fmt.Errorf("refund without 原交易查询流水号: %w", payment.ErrMalformed)
		}
		l.Kind, l.TradeNo, l.RequestNo, l.RefundID = payment.BillRefund, f[ZMOrigQueryID], f[ZMOrderID], f[ZMQueryID]
		if outTradeNoRE.MatchString(f[ZMReserved]) {
			l.OutTradeNo = f[ZMReserved]
		}
	default:
		return payment.BillLine{}, fmt.Errorf("交易类型 %q (交易代码 %q) is neither 01, 04 nor 31: %w", f[ZMTxnType], f[ZMTxnCode], payment.ErrMalformed)
	}
	return l, nil
}

// digits parses exactly n decimal digits.
func digits(s string, n int) (int64, error) {
	if len(s) != n || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("want %d digits, got %q", n, s)
	}
	return strconv.ParseInt(s, 10, 64)
}

// signed parses a D/C-prefixed 12-digit amount: plus is positive, minus
// negative.
func signed(s string, plus, minus byte) (int64, error) {
	if len(s) != 13 || (s[0] != plus && s[0] != minus) {
		return 0, fmt.Errorf("want %c/%c and 12 digits, got %q", plus, minus, s)
	}
	v, err := digits(s[1:], 12)
	if s[0] == minus {
		v = -v
	}
	return v, err
}

// traceTime reads MMDDhhmmss (Beijing) near the settlement day: a month
// after the day's belongs to the year before (a December transaction
// settled in January).
func traceTime(s string, day time.Time) (time.Time, error) {
	t, err := time.ParseInLocation("0102150405", s, beijing)
	if err != nil {
		return time.Time{}, fmt.Errorf("交易传输时间 %q: %w", s, payment.ErrMalformed)
	}
	year := day.Year()
	if t.Month() > day.Month()+1 {
		year--
	}
	return time.Date(year, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, beijing), nil
}
