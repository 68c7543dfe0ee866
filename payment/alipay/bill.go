package alipay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	sdk "github.com/smartwalle/alipay/v3"

	"im2pay/payment"
)

var _ payment.Biller = (*Provider)(nil)

// ErrBillURLExpired is the answer to a bill download URL fetched too late:
// Alipay's URL lives 30 s, then answers "下载超时" (PROVIDERS.md §1.5).
var ErrBillURLExpired = errors.New("alipay: bill download URL expired (下载超时)")

// subBillNotExist is the bill query's answer for a day without a bill; it
// means "no trades" only after the bill's generation time, before that
// "not ready" (PROVIDERS.md §1.5, §1.8).
const subBillNotExist = "isp.bill_not_exist"

// BillReadyAt is when Alipay's trade bill of day can be fetched: 10:00
// Beijing time the next day (PROVIDERS.md §1.5: "fetch after 10:00 next day").
func BillReadyAt(day time.Time) time.Time {
	y, m, d := day.In(beijing).Date()
	return time.Date(y, m, d+1, 10, 0, 0, 0, beijing)
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

// Bill fetches the trade bill (业务明细) of day, a Beijing calendar day:
// the download URL, then the zip at once (the URL lives 30 s).
func (p *Provider) Bill(ctx context.Context, day time.Time) (payment.Bill, error) {
	u, err := p.BillURL(ctx, day)
	if err != nil {
		return payment.Bill{}, err
	}
	return p.DownloadBill(ctx, u, day)
}

// BillURL calls alipay.data.dataservice.bill.downloadurl.query with
// bill_type=trade. Only past days have bills (today is refused by Alipay as
// an invalid argument): today or later is ErrBillNotReady without a call;
// isp.bill_not_exist is ErrBillNotReady before BillReadyAt, ErrNoBill after.
func (p *Provider) BillURL(ctx context.Context, day time.Time) (string, error) {
	const method = "alipay.data.dataservice.bill.downloadurl.query"
	now := p.clock()
	date := day.In(beijing).Format("2006-01-02")
	if date >= now.In(beijing).Format("2006-01-02") {
		return "", fmt.Errorf("alipay: bill of %s asked on %s: %w", date, now.In(beijing).Format("2006-01-02"), payment.ErrBillNotReady)
	}
	rsp, err := p.client.BillDownloadURLQuery(ctx, sdk.BillDownloadURLQuery{BillType: "trade", BillDate: date})
	if err != nil || rsp == nil {
		return "", apiError(method, err, sdk.Error{Code: "20000", SubMsg: "empty answer"})
	}
	switch {
	case rsp.SubCode == subBillNotExist && now.Before(BillReadyAt(day)):
		return "", fmt.Errorf("alipay: bill of %s: %w", date, payment.ErrBillNotReady)
	case rsp.SubCode == subBillNotExist:
		return "", fmt.Errorf("alipay: bill of %s: %w", date, payment.ErrNoBill)
	case !rsp.Code.IsSuccess():
		return "", apiError(method, nil, rsp.Error)
	case !strings.HasPrefix(rsp.BillDownloadURL, "http"):
		return "", fmt.Errorf("alipay: %s: bill_download_url %q: %w", method, rsp.BillDownloadURL, payment.ErrMalformed)
	}
	return rsp.BillDownloadURL, nil
}

// DownloadBill fetches the zip at u (the URL is a bearer token; nothing is
// signed) and parses it. An expired URL is ErrBillURLExpired.
func (p *Provider) DownloadBill(ctx context.Context, u string, day time.Time) (payment.Bill, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return payment.Bill{}, fmt.Errorf("alipay: bill download: %w", err)
	}
	res, err := p.http.Do(req)
	if err != nil {
		return payment.Bill{}, fmt.Errorf("alipay: bill download: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return payment.Bill{}, fmt.Errorf("alipay: bill download: %w", err)
	}
	// A zip starts "PK\x03\x04"; anything else is Alipay's message page.
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(string(raw), "PK\x03\x04") {
		if strings.Contains(string(raw), "下载超时") {
			return payment.Bill{}, ErrBillURLExpired
		}
		return payment.Bill{}, fmt.Errorf("alipay: bill download answered %d, not a zip: %.80q: %w", res.StatusCode, raw, payment.ErrMalformed)
	}
	b, err := ParseBill(raw, day)
	if err != nil {
		return payment.Bill{}, err
	}
	b.Day = time.Date(day.In(beijing).Year(), day.In(beijing).Month(), day.In(beijing).Day(), 0, 0, 0, 0, beijing)
	b.RawName = p.cfg.SellerID + "0156_" + b.Day.Format("20060102") + ".csv.zip"
	return b, nil
}
