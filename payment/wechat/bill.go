package wechat

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"

	"im2pay/payment"
)

var _ payment.Biller = (*Provider)(nil)

// ErrBillHash means the downloaded bill is not the one whose SHA-1 the
// signed tradebill answer named: the download is unsigned (PROVIDERS.md
// §2.5), so the hash is all that vouches for it.
var ErrBillHash = errors.New("wechat: bill download does not match its SHA-1")

// Error codes of GET /v3/bill/tradebill acted on. PROVIDERS.md §2.5 does
// not list them; these are the codes WeChat's API page for 申请交易账单
// names for "no bill" and "still being made" (unverified here).
const (
	CodeNoStatement       = "NO_STATEMENT_EXIST"
	CodeStatementCreating = "STATEMENT_CREATING"
)

// BillReadyAt is when WeChat's trade bill of day can be fetched: bills are
// made from 09:00 the next day, fetch after 10:00 Beijing time
// (PROVIDERS.md §2.5).
func BillReadyAt(day time.Time) time.Time {
	y, m, d := day.In(cst).Date()
	return time.Date(y, m, d+1, 10, 0, 0, 0, cst)
}

// SetClock replaces the clock that decides whether a day's bill can exist
// yet (the app's Now; tests pass the sandbox's).
func (p *Provider) SetClock(now func() time.Time) { p.now = now }

func (p *Provider) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

// tradeBill is the signed answer of GET /v3/bill/tradebill.
type tradeBill struct {
	HashType    string `json:"hash_type"`
	HashValue   string `json:"hash_value"`
	DownloadURL string `json:"download_url"`
}

// Bill fetches the trade bill (bill_type=ALL, no tar_type: a plain stream)
// of day, a Beijing calendar day, checks it against the SHA-1 of the
// signed answer and parses it. Today or later is ErrBillNotReady without a
// call; so is STATEMENT_CREATING; NO_STATEMENT_EXIST is ErrNoBill.
func (p *Provider) Bill(ctx context.Context, day time.Time) (payment.Bill, error) {
	now := p.clock()
	date := day.In(cst).Format("2006-01-02")
	if date >= now.In(cst).Format("2006-01-02") {
		return payment.Bill{}, fmt.Errorf("wechat: bill of %s asked on %s: %w", date, now.In(cst).Format("2006-01-02"), payment.ErrBillNotReady)
	}
	q := url.Values{"bill_date": {date}, "bill_type": {"ALL"}}
	res, err := p.client.Get(ctx, "https://api.mch.weixin.qq.com/v3/bill/tradebill?"+q.Encode())
	if err != nil {
		return payment.Bill{}, p.billErr(ctx, date, err)
	}
	defer res.Response.Body.Close()
	var tb tradeBill
	if err := json.NewDecoder(io.LimitReader(res.Response.Body, 1<<20)).Decode(&tb); err != nil ||
		tb.HashType != "SHA1" || len(tb.HashValue) != 40 || !strings.HasPrefix(tb.DownloadURL, "https://") {
		return payment.Bill{}, fmt.Errorf("wechat: tradebill %s answer %+v: %w", date, tb, payment.ErrMalformed)
	}
	raw, err := p.downloadBill(ctx, tb.DownloadURL)
	if err != nil {
		return payment.Bill{}, fmt.Errorf("wechat: bill %s: %w", date, err)
	}
	sum := sha1.Sum(raw)
	if !strings.EqualFold(hex.EncodeToString(sum[:]), tb.HashValue) {
		return payment.Bill{}, fmt.Errorf("wechat: bill %s: SHA-1 %x, the answer named %s: %w", date, sum, tb.HashValue, ErrBillHash)
	}
	b, err := ParseBill(raw)
	if err != nil {
		return payment.Bill{}, fmt.Errorf("wechat: bill %s: %w", date, err)
	}
	y, m, d := day.In(cst).Date()
	b.Day, b.Raw, b.RawName = time.Date(y, m, d, 0, 0, 0, 0, cst), raw, "wechatpay_tradebill_"+p.cfg.MchID+"_"+date+".csv"
	return b, nil
}

// downloadBill is the signed GET of download_url through the client that
// does not verify answers (see New).
func (p *Provider) downloadBill(ctx context.Context, u string) ([]byte, error) {
	res, err := p.download.Get(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	defer res.Response.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Response.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	return raw, nil
}

// billErr reads the tradebill call's refusals. Like apiErr, a code is acted
// on only when the error answer is signed by WeChat Pay.
func (p *Provider) billErr(ctx context.Context, date string, err error) error {
	var ae *core.APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("wechat: tradebill %s: %w", date, err)
	}
	var meaning error
	switch ae.Code {
	case CodeNoStatement:
		meaning = payment.ErrNoBill
	case CodeStatementCreating:
		meaning = payment.ErrBillNotReady
	default:
		return fmt.Errorf("wechat: tradebill %s: %w", date, err)
	}
	res := &http.Response{StatusCode: ae.StatusCode, Header: ae.Header, Body: io.NopCloser(strings.NewReader(ae.Body))}
	if verr := p.checker.Validate(ctx, res); verr != nil {
		return fmt.Errorf("wechat: tradebill %s: unsigned %s answer: %w: %v", date, ae.Code, payment.ErrBadSignature, verr)
	}
	return fmt.Errorf("wechat: tradebill %s: %w: %w", date, meaning, err)
}
