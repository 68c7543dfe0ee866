package unionpaysandbox

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// File transfer (文件传输, txnType 76), PROVIDERS.md §3.5 (UnionPay's demo
// Form_7_2_FileTransfer): the merchant asks for fileType 00 of a settleDate
// (MMDD); the signed answer carries fileName and fileContent, the base64 of
// a zlib-deflated zip holding the ZM detail file (INN+yyMMdd+88ZM_+merId,
// GBK, fixed width, CRLF) and the RD summary (RD+2010+yyMMdd+01_+merId, the
// sample's names), or respCode 98 when there is no such file. Each day's
// file is made from the sandbox's own transactions.
//
// Where the public material is silent the sandbox chooses, and says so:
//   - when a day's file exists: FileReadyAfter past the day's end; before
//     that, 98 like any missing file (the real time is unverified, §3.5);
//   - a day without transactions has no file (98);
//   - the settlement day is the Beijing calendar day the transaction
//     succeeded on (UnionPay's real cut-off is not documented here);
//   - the fee: FeeBasisPoints of each consumption, "D" (charged); refunds
//     carry no fee (whether UnionPay returns it is not documented);
//   - refunds' 交易代码: refundTxnCode (§3.5: unverified; the sample only has
//     S56 consumptions);
//   - the RD file's exact layout (§3.5 gives headings only).

// FileReadyAfter is how long after a settlement day's end (Beijing
// midnight) its file can be fetched: 09:00 the next morning. UnionPay
// publishes no time (§3.5); the merchant side's default matches.
const FileReadyAfter = 9 * time.Hour

// FeeBasisPoints is the sandbox's fee on a consumption (0.6%, rounded half
// up to the fen). UnionPay's rates are per contract; the docs give none.
const FeeBasisPoints = 60

const (
	consumeTxnCode = "S56" // the sample's code for consumption (§3.5)
	refundTxnCode  = "S30" // a sandbox choice: the real code is unverified (§3.5)
)

// zmWidths are the ZM record's field widths (§3.5, the demo's parseZMFile),
// one space between fields: 607 characters. Written apart from the
// merchant's parser so that a mistake on one side shows in tests.
var zmWidths = [42]int{3, 11, 11, 6, 10, 19, 12, 4, 2, 21, 2, 32, 2, 6, 10, 13, 13, 4, 15, 2, 2, 6, 2, 4, 32, 1,
	21, 15, 1, 15, 32, 13, 13, 8, 32, 13, 13, 12, 2, 1, 32, 98}

// BillEdit falsifies one transaction's record in the settlement file, to
// plant a difference for reconciliation tests.
type BillEdit struct {
	// Omit leaves the record out (a payment we credited that UnionPay
	// does not know).
	Omit bool
	// Amount, when not zero, replaces 交易金额 (fen).
	Amount int64
}

// SetBillEdit falsifies the record of orderId (a consumption's, or a
// refund's own orderId) in every settlement file made from now on.
func (s *Sandbox) SetBillEdit(orderID string, e BillEdit) {
	s.mu.Lock()
	s.edits[orderID] = e
	s.mu.Unlock()
}

// SetClock replaces the sandbox's clock (payment times, refund windows,
// when settlement files exist).
func (s *Sandbox) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

var fileRequired = []string{"version", "encoding", "txnType", "txnSubType", "bizType", "accessType",
	"merId", "settleDate", "txnTime", "fileType", "certId", "signMethod", "signature"}

// zmRecord is one transaction as the ZM file states it.
type zmRecord struct {
	txnCode, txnType, bizType      string
	traceNo, traceTime, accNo      string
	amount, fee                    int64
	queryID, orderID, origQueryID  string
	origTraceNo, origTime, reserve string
	at                             time.Time
}

// fileTransfer is POST /unionpay/filedownload/.
func (s *Sandbox) fileTransfer(w http.ResponseWriter, r *http.Request) {
	f, ok := s.readRequest(w, r, fileRequired)
	if !ok {
		return
	}
	if f["txnType"] != "76" || f["txnSubType"] != "01" || f["bizType"] != "000000" || f["fileType"] != "00" {
		s.answer(w, f, "10")
		return
	}
	s.mu.Lock()
	now := s.now().In(beijing)
	day, ok := settleDay(f["settleDate"], now)
	if !ok {
		s.mu.Unlock()
		s.answer(w, f, "10")
		return
	}
	var recs []zmRecord
	if !now.Before(day.AddDate(0, 0, 1).Add(FileReadyAfter)) {
		recs = s.recordsLocked(f["merId"], day)
	}
	s.mu.Unlock()
	if len(recs) == 0 {
		res := s.fileAnswer(f, "98")
		s.write(w, res)
		return
	}
	zipped, err := settlementZip(f["merId"], day, recs)
	if err != nil {
		s.answer(w, f, "99")
		return
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(zipped)
	_ = zw.Close()
	res := s.fileAnswer(f, "00")
	res["fileName"] = f["merId"] + "_" + day.Format("20060102") + ".zip"
	res["fileContent"] = base64.StdEncoding.EncodeToString(z.Bytes())
	s.write(w, res)
}

func (s *Sandbox) fileAnswer(f map[string]string, code string) map[string]string {
	res := map[string]string{"version": "5.1.0", "encoding": "UTF-8", "txnType": "76", "txnSubType": "01",
		"bizType": "000000", "accessType": "0", "merId": f["merId"], "settleDate": f["settleDate"],
		"txnTime": f["txnTime"], "fileType": "00", "respCode": code, "respMsg": respMsg(code)}
	return res
}

// settleDay is the latest day at or before today whose MMDD is mmdd.
func settleDay(mmdd string, now time.Time) (time.Time, bool) {
	if len(mmdd) != 4 {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("0102", mmdd, beijing)
	if err != nil {
		return time.Time{}, false
	}
	for y := now.Year(); y >= now.Year()-4; y-- {
		d := time.Date(y, t.Month(), t.Day(), 0, 0, 0, 0, beijing)
		if d.Month() == t.Month() && !d.After(now) {
			return d, true
		}
	}
	return time.Time{}, false
}

// recordsLocked are merID's successful consumptions and refunds settled on
// day, in time order, with the planted edits applied.
func (s *Sandbox) recordsLocked(merID string, day time.Time) []zmRecord {
	same := func(t time.Time) bool {
		t = t.In(beijing)
		return t.Year() == day.Year() && t.YearDay() == day.YearDay()
	}
	var recs []zmRecord
	for _, o := range s.orders {
		if o.merID != merID || o.state != paid || !same(o.paidAt) {
			continue
		}
		recs = append(recs, zmRecord{txnCode: consumeTxnCode, txnType: "01", bizType: "000201",
			traceNo: o.traceNo, traceTime: o.traceTime, accNo: o.accNo, amount: o.amount,
			fee: (o.amount*FeeBasisPoints + 5_000) / 10_000, queryID: o.queryID, orderID: o.orderID, at: o.paidAt})
	}
	for _, rf := range s.refunds {
		if rf.merID != merID || rf.code != "00" || !same(rf.settledAt) {
			continue
		}
		recs = append(recs, zmRecord{txnCode: refundTxnCode, txnType: "04", bizType: "000201",
			traceNo: rf.traceNo, traceTime: rf.traceTime, accNo: rf.orig.accNo, amount: rf.amount,
			queryID: rf.queryID, orderID: rf.orderID, origQueryID: rf.orig.queryID,
			origTraceNo: rf.orig.traceNo, origTime: rf.orig.traceTime, reserve: rf.reqReserved, at: rf.settledAt})
	}
	kept := recs[:0]
	for _, r := range recs {
		e := s.edits[r.orderID]
		if e.Omit {
			continue
		}
		if e.Amount != 0 {
			r.amount = e.Amount
		}
		kept = append(kept, r)
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].at.Before(kept[j].at) })
	return kept
}

// settlementZip is the zip of the day's files: ZM (GBK) and RD (GBK).
func settlementZip(merID string, day time.Time, recs []zmRecord) ([]byte, error) {
	var zm, rd strings.Builder
	var count [2]int
	var sum, fees [2]int64
	for _, r := range recs {
		zm.WriteString(zmLine(merID, r))
		zm.WriteString("\r\n")
		i := 0
		if r.txnType != "01" {
			i = 1
		}
		count[i]++
		sum[i] += r.amount
		fees[i] += r.fee
	}
	fmt.Fprintf(&rd, "中国银联全渠道商户交易汇总表\r\n商户代码：%s\r\n清算币种：人民币\r\n收单机构：中国银联\r\n清算日期：%s\r\n商户名称：沙箱商户\r\n生成日期：%s\r\n",
		merID, day.Format("20060102"), day.AddDate(0, 0, 1).Format("20060102"))
	fmt.Fprintf(&rd, "交易类型 交易笔数 交易金额 费用\r\n消费 %d %s %s\r\n退货 %d %s %s\r\n",
		count[0], yuan(sum[0]), yuan(fees[0]), count[1], yuan(sum[1]), yuan(fees[1]))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	enc := simplifiedchinese.GBK.NewEncoder()
	for _, file := range []struct{ name, text string }{
		{"INN" + day.Format("060102") + "88ZM_" + merID, zm.String()},
		{"RD2010" + day.Format("060102") + "01_" + merID, rd.String()},
	} {
		gbk, err := enc.String(file.text)
		if err != nil {
			return nil, fmt.Errorf("unionpay sandbox: %s to GBK: %w", file.name, err)
		}
		w, err := zw.Create(file.name)
		if err == nil {
			_, err = w.Write([]byte(gbk))
		}
		if err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func yuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

// zmLine writes one 607-character record (§3.5's field order).
func zmLine(merID string, r zmRecord) string {
	settle := "C" + fmt.Sprintf("%012d", r.amount-r.fee) // what reaches the merchant
	net := r.amount - r.fee
	if r.txnType != "01" {
		settle = "D" + fmt.Sprintf("%012d", r.amount) // a refund is taken from the merchant
		net = -r.amount
	}
	v := [42]string{
		0: r.txnCode, 1: "00049992900", 2: "00049992900", 3: r.traceNo, 4: r.traceTime, 5: r.accNo,
		6: fmt.Sprintf("%012d", r.amount), 7: "5999", 8: "07", 9: r.queryID, 10: "00", 11: r.orderID,
		12: "01", 13: r.origTraceNo, 14: r.origTime, 15: "D" + fmt.Sprintf("%012d", r.fee), 16: settle,
		17: "0001", 19: r.txnType, 20: "00", 21: r.bizType, 22: "01", 25: "0", 26: r.origQueryID,
		27: merID, 28: "0", 31: "", 32: signedAmount(net), 33: "", 34: r.reserve, 39: "1",
	}
	if r.txnType == "01" {
		v[20] = "01"
	}
	var b strings.Builder
	for i, w := range zmWidths {
		if i > 0 {
			b.WriteByte(' ')
		}
		f := []rune(v[i])
		if len(f) > w {
			f = f[:w]
		}
		b.WriteString(string(f) + strings.Repeat(" ", w-len(f)))
	}
	return b.String()
}

// signedAmount is C (credit) or D (debit) and 12 digits of fen.
func signedAmount(v int64) string {
	if v < 0 {
		return "D" + fmt.Sprintf("%012d", -v)
	}
	return "C" + strconv.FormatInt(v+1_000_000_000_000, 10)[1:]
}
