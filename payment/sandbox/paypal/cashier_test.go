package paypalsandbox

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"im2pay/payment"
)

// post submits the approval form the way a browser would, without
// following the redirect.
func (h *harness) post(t *testing.T, token, password, outcome string) (int, string, string) {
	t.Helper()
	c := *h.api.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	form := url.Values{"token": {token}, "login_email": {buyerEmail}, "login_password": {password}, "outcome": {outcome}}
	res, err := c.PostForm(h.api.URL+"/paypal/checkoutnow", form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(b)
}

func TestTheApprovalForm(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()

	t.Run("the right password approves and returns with token and PayerID", func(t *testing.T) {
		o := h.order(6800)
		next := h.start(t, o)
		status, loc, _ := h.post(t, next.ProviderRef, Password, "success")
		if status != http.StatusSeeOther || !strings.HasPrefix(loc, o.ReturnURL+"?token="+next.ProviderRef+"&PayerID=") {
			t.Fatalf("POST = %d to %q", status, loc)
		}
		ret := h.returnOf(t, o, loc)
		if r, err := h.prov.Complete(ctx, o.OutTradeNo, ret.ProviderRef); err != nil || r.Status != payment.StatusPaid {
			t.Fatalf("Complete = %+v, %v", r, err)
		}
	})

	t.Run("wrong passwords keep the person on the page until the third voids the order", func(t *testing.T) {
		o := h.order(6800)
		next := h.start(t, o)
		for i, left := range []string{"2", "1"} {
			status, loc, body := h.post(t, next.ProviderRef, "654321", "success")
			if status != http.StatusOK || loc != "" || !strings.Contains(body, "Wrong password: "+left) {
				t.Fatalf("try %d: %d %q\n%s", i+1, status, loc, body)
			}
		}
		status, loc, _ := h.post(t, next.ProviderRef, "654321", "success")
		if status != http.StatusSeeOther || loc != o.ReturnURL+"?token="+next.ProviderRef {
			t.Fatalf("third try: %d to %q", status, loc)
		}
		r, err := h.prov.Complete(ctx, o.OutTradeNo, next.ProviderRef)
		if err != nil || r.Status != payment.StatusFailed || r.Reason != payment.ReasonWrongDetails {
			t.Fatalf("Complete = %+v, %v", r, err)
		}
		if status, _, _ := h.post(t, next.ProviderRef, Password, "success"); status != http.StatusConflict {
			t.Fatalf("a voided order accepted a payment: %d", status)
		}
	})

	t.Run("the cancel link goes back to cancel_url with the token", func(t *testing.T) {
		o := h.order(6800)
		next := h.start(t, o)
		page := h.get(t, next.RedirectURL)
		want := o.ReturnURL + "?cancel=1&amp;token=" + next.ProviderRef
		if !strings.Contains(page, want) {
			t.Fatalf("page lacks cancel link %q", want)
		}
	})

	t.Run("an unknown token shows PayPal's error page, not a redirect", func(t *testing.T) {
		if status, loc, _ := h.post(t, "NOSUCHORDER12345", Password, "success"); status != http.StatusNotFound || loc != "" {
			t.Fatalf("POST = %d %q", status, loc)
		}
	})
}
