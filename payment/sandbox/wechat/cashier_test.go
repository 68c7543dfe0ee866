package wechatsandbox

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"im2pay/payment"
)

// post submits a cashier form without following redirects.
func (h *harness) post(u string, form url.Values) (int, string, string) {
	h.t.Helper()
	res, err := noRedirect.PostForm(u, form)
	if err != nil {
		h.t.Fatalf("POST %s: %v", u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header.Get("Location")
}

func (h *harness) status(no string) payment.Result {
	h.t.Helper()
	res, err := h.p.Query(context.Background(), no, "")
	if err != nil {
		h.t.Fatalf("Query %s: %v", no, err)
	}
	return res
}

func TestScanPageShowsTheAmountAndAcceptsTheSandboxPassword(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.order(payment.Desktop, 68_00)
	next := h.start(o)
	if !strings.HasPrefix(next.QRCode, "weixin://wxpay/bizpayurl?pr=") {
		t.Fatalf("code_url = %q", next.QRCode)
	}
	scan := ScanURL(h.api.URL, next.QRCode)
	code, page := h.get(scan)
	if code != http.StatusOK || !strings.Contains(page, "¥68.00") || !strings.Contains(page, "沙箱") {
		t.Fatalf("scan page %d does not show the amount and the sandbox badge", code)
	}
	action := h.api.URL + "/" + Name + "/scan"
	code, page, loc := h.post(action, url.Values{"code": {next.QRCode}, "password": {Password}, "outcome": {"success"}})
	if code != http.StatusOK || loc != "" || !strings.Contains(page, "支付成功") {
		t.Fatalf("pay: %d %q, page without success message", code, loc)
	}
	if res := h.status(o.OutTradeNo); res.Status != payment.StatusPaid {
		t.Fatalf("Query = %s, want paid", res.Status)
	}
	h.hook.waitFor(t, o.OutTradeNo, 1)
	if code, page, _ = h.post(action, url.Values{"code": {next.QRCode}, "password": {Password}}); code != http.StatusConflict ||
		!strings.Contains(page, "已支付") {
		t.Errorf("paying twice: %d", code)
	}
}

func TestThreeWrongPasswordsOnTheScanPageAreRefusedThereOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.order(payment.Desktop, 6_00)
	next := h.start(o)
	action := h.api.URL + "/" + Name + "/scan"
	for try := 1; try <= 3; try++ {
		code, page, _ := h.post(action, url.Values{"code": {next.QRCode}, "password": {"654321"}, "outcome": {"success"}})
		if try < 3 && (code != http.StatusOK || !strings.Contains(page, "支付密码错误")) {
			t.Fatalf("try %d: %d, no wrong-password error", try, code)
		}
		if try == 3 && !strings.Contains(page, "支付失败") {
			t.Fatalf("third wrong password: page does not say the payment failed")
		}
	}
	// The merchant learns nothing: the order stays NOTPAY, payable.
	if res := h.status(o.OutTradeNo); res.Status != payment.StatusPending || res.Reason != "" {
		t.Fatalf("Query = %s/%s, want NOTPAY (pending), no reason", res.Status, res.Reason)
	}
	if code, page, _ := h.post(action, url.Values{"code": {next.QRCode}, "password": {Password}}); code != http.StatusOK ||
		!strings.Contains(page, "支付成功") {
		t.Fatalf("paying after the refusals: %d", code)
	}
}

func TestH5PageSendsThePersonBackToRedirectURL(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.order(payment.Phone, 128_00)
	next, err := h.p.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(next.RedirectURL)
	if u.Query().Get("redirect_url") != o.ReturnURL || u.Query().Get("prepay_id") == "" {
		t.Fatalf("h5_url %q lacks prepay_id or redirect_url", next.RedirectURL)
	}
	code, page := h.get(next.RedirectURL)
	if code != http.StatusOK || !strings.Contains(page, "¥128.00") {
		t.Fatalf("h5 page %d does not show the amount", code)
	}
	action := h.api.URL + u.Path
	if code, page, _ := h.post(action, url.Values{"password": {"111111"}}); code != http.StatusOK ||
		!strings.Contains(page, "支付密码错误") {
		t.Fatalf("wrong password: %d", code)
	}
	code, _, loc := h.post(action, url.Values{"password": {Password}, "outcome": {"success"}})
	if code != http.StatusSeeOther || loc != o.ReturnURL {
		t.Fatalf("pay: %d to %q, want 303 to %q", code, loc, o.ReturnURL)
	}
	if res := h.status(o.OutTradeNo); res.Status != payment.StatusPaid || res.Amount != 128_00 {
		t.Fatalf("Query = %+v, want paid 12800", res)
	}
}

func TestAlteredOrUnknownPaymentLinksAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	next := h.start(h.order(payment.Phone, 30_00))
	altered := strings.Replace(next.RedirectURL, "prepay_id=wx", "prepay_id=xx", 1)
	if code, _ := h.get(altered); code != http.StatusBadRequest {
		t.Errorf("altered h5_url: %d, want 400", code)
	}
	if code, _ := h.get(ScanURL(h.api.URL, "weixin://wxpay/bizpayurl?pr=nope")); code != http.StatusNotFound {
		t.Errorf("unknown code_url: %d, want 404", code)
	}
	if _, found, _ := h.sb.Simulate(context.Background(), "NoSuchOrder0000000", "success"); found {
		t.Errorf("Simulate found an order that was never started")
	}
}
