// Package alipaysandbox plays Alipay's side of the open-platform protocol
// for the sandbox server: the gateway (/alipay/gateway.do) that verifies the
// merchant's RSA2 signature with the app public key, the cashier page for
// page and wap pay, signed API answers (trade.query, .close, .refund),
// signed returns and asynchronous notifications retried on Alipay's
// schedule until the merchant answers exactly "success".
//
// The sandbox payment password is Password (123456); any other password is a
// wrong password, and the third one fails the payment. Amounts above
// MaxAmount (Alipay's documented total_amount ceiling) are refused with
// ACQ.TOTAL_FEE_EXCEED.
package alipaysandbox

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"im2pay/payment/sandbox/sim"
)

const name = "alipay"

// Password is the sandbox buyer's payment password (支付密码).
const Password = "123456"

// MaxAmount is Alipay's documented ceiling for total_amount
// ([0.01, 100000000] yuan), in fen.
const MaxAmount int64 = 100_000_000_00

// beijing is the zone of every Alipay timestamp.
var beijing = time.FixedZone("CST", 8*60*60)

// timeLayout is Alipay's "yyyy-MM-dd HH:mm:ss".
const timeLayout = "2006-01-02 15:04:05"

// Sandbox is the Alipay simulation. Its trades live in memory.
type Sandbox struct {
	// WebOrigin is where the cashier pages are served (see sim.Pages);
	// empty: on the origin of the gateway.
	WebOrigin string

	ids    identities
	appKey *rsa.PublicKey  // verifies the merchant's requests
	key    *rsa.PrivateKey // Alipay's: signs answers, returns, notifications
	n      *sim.Notifier
	log    *slog.Logger
	now    func() time.Time

	// NotifyPageClosed makes page pay trades notify TRADE_CLOSED too. Alipay
	// notifies it for wap pay only unless the merchant's product is set up
	// otherwise (PROVIDERS.md §1.1; developer.aliyun.com/ask/285132). Set it
	// before serving.
	NotifyPageClosed bool

	mu      sync.Mutex
	trades  map[string]*trade // by out_trade_no
	byToken map[string]*trade // by cashier token
	// refundFaults plans the next refund call's failure per out_trade_no
	// (FailNextRefund).
	refundFaults map[string]RefundFault
	// billTokens are the bill download URLs issued (by token); billEdit
	// is EditBill's function.
	billTokens map[string]billToken
	billEdit   func(day time.Time, rows []BillRow) []BillRow

	offset atomic.Int64 // what Advance added to the sandbox's clock
}

var _ sim.Simulator = (*Sandbox)(nil)

// New loads the keys and ids Provision wrote under dir and makes a sandbox
// that delivers notifications through n.
func New(dir string, n *sim.Notifier, log *slog.Logger) (*Sandbox, error) {
	if n == nil {
		return nil, errors.New("alipay sandbox: a notifier is required")
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d := filepath.Join(dir, keySubdir)
	ids, err := readIdentities(d)
	if err != nil {
		return nil, err
	}
	appKey, err := readPublicKey(filepath.Join(d, appPublicFile))
	if err != nil {
		return nil, err
	}
	key, err := readPrivateKey(filepath.Join(d, alipayPrivFile))
	if err != nil {
		return nil, err
	}
	s := &Sandbox{ids: ids, appKey: appKey, key: key, n: n, log: log,
		trades: map[string]*trade{}, byToken: map[string]*trade{}}
	s.now = func() time.Time { return time.Now().Add(time.Duration(s.offset.Load())) }
	return s, nil
}

// Advance moves the sandbox's clock forward by d: the day's bill becomes
// ready, a download URL expires, a refund window passes.
func (s *Sandbox) Advance(d time.Duration) { s.offset.Add(int64(d)) }

// Now is the sandbox's clock (the real time plus what Advance added).
func (s *Sandbox) Now() time.Time { return s.now() }

// Name is the URL prefix segment.
func (s *Sandbox) Name() string { return name }

// Routes serves the gateway (GET for page/wap pay from the browser, POST for
// the API) and the cashier page.
func (s *Sandbox) Routes(mux *http.ServeMux) {
	mux.HandleFunc("/"+name+"/gateway.do", s.gateway)
	mux.HandleFunc("GET /"+name+"/cashier/{token}", s.cashierPage)
	mux.HandleFunc("POST /"+name+"/cashier/{token}", s.cashierPay)
	mux.HandleFunc("GET /"+name+"/downloadBillFile.resource", s.downloadBill)
}

// Simulate settles a trade as if the person had chosen o on the cashier
// page with the right password (a WrongPassword outcome counts one wrong
// try). The cashier exists once the person's browser has opened the Start
// URL; Alipay creates the trade itself only when they log in or enter
// their password there (see trade.known), which any outcome but cancel
// stands for.
func (s *Sandbox) Simulate(_ context.Context, outTradeNo string, o sim.Outcome) (string, bool, error) {
	s.mu.Lock()
	t := s.trades[outTradeNo]
	s.mu.Unlock()
	if t == nil {
		return "", false, nil
	}
	st, err := s.settle(t, o, Password)
	if err != nil {
		return "", true, err
	}
	return st.redirect, true, nil
}

// expireIfDue closes a trade still waiting for payment after time_expire,
// as Alipay does. The sandbox closes it when it is next looked at (the
// cashier, a query, a close), not on a timer. Callers hold s.mu.
func (s *Sandbox) expireIfDue(t *trade, now time.Time) {
	if t.status == statusWait && !t.expires.IsZero() && now.After(t.expires) {
		t.status, t.closedAt = statusClosed, now
		s.closedLocked(t)
	}
}

// closedLocked notifies TRADE_CLOSED for a trade just closed (timeout,
// trade.close, full refund) where Alipay does: for wap pay, and for page
// pay only when NotifyPageClosed (PROVIDERS.md §1.1, §1.3). A trade Alipay
// never created closes silently. Callers hold s.mu.
func (s *Sandbox) closedLocked(t *trade) {
	if !t.known || (!t.wap && !s.NotifyPageClosed) {
		return
	}
	snap := *t
	s.n.After(0, func() { s.notify(snap, sim.NotifyNow, false) })
}

// Finish ends a paid trade's refund window (TRADE_SUCCESS → TRADE_FINISHED)
// and notifies the merchant, as Alipay does when the window closes.
func (s *Sandbox) Finish(outTradeNo string) error {
	s.mu.Lock()
	t := s.trades[outTradeNo]
	if t == nil || t.status != statusSuccess {
		s.mu.Unlock()
		return fmt.Errorf("alipay sandbox: %s is not a paid, refundable trade", outTradeNo)
	}
	t.status, t.closedAt = statusFinished, s.now()
	snap := *t
	s.mu.Unlock()
	s.notify(snap, sim.NotifyNow, false)
	return nil
}

// signContent is Alipay's string to sign: parameters sorted by name, empty
// values and the skipped names left out, joined as k=v&k=v, values raw
// (not URL-encoded).
func signContent(v url.Values, skip ...string) string {
	keys := make([]string, 0, len(v))
	for k, vs := range v {
		if len(vs) == 0 || vs[0] == "" || contains(skip, k) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + v.Get(k)
	}
	return strings.Join(parts, "&")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sign is RSA2: SHA256withRSA (PKCS #1 v1.5), base64.
func sign(key *rsa.PrivateKey, content []byte) string {
	h := sha256.Sum256(content)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	if err != nil {
		panic(err) // only for a malformed key, which New refuses
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// signParams adds sign_type and sign to a notification or return. Alipay
// leaves sign and sign_type out of what it signs for these.
func (s *Sandbox) signParams(v url.Values) {
	v.Set("sign_type", "RSA2")
	v.Set("sign", sign(s.key, []byte(signContent(v, "sign", "sign_type"))))
}

// verifyRequest checks the merchant's RSA2 signature the way the gateway
// does: over every parameter but sign (sign_type included).
func (s *Sandbox) verifyRequest(v url.Values) (content string, ok bool) {
	content = signContent(v, "sign")
	sig, err := base64.StdEncoding.DecodeString(v.Get("sign"))
	if err != nil {
		return content, false
	}
	h := sha256.Sum256([]byte(content))
	return content, rsa.VerifyPKCS1v15(s.appKey, crypto.SHA256, h[:], sig) == nil
}

// randomHex is n random bytes, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
