// Package unionpaysandbox plays the UnionPay online gateway (ACP 5.1.0) for
// the sandbox: frontTransReq.do and the hosted card page, queryTrans.do,
// back notifications to backUrl retried until HTTP 200, and the front
// notification as a page whose form POSTs the signed result to frontUrl.
//
// Routes (under /unionpay/):
//
//	POST /unionpay/gateway/api/frontTransReq.do   the browser posts the signed Start form
//	GET  /unionpay/gateway/cashier/{tn}           the hosted card page (test cards listed)
//	POST /unionpay/gateway/cashier/{tn}           pay: card, expiry MMYY, CVN2, mobile, password, SMS code
//	GET  /unionpay/gateway/cashier/{tn}/cancel    leave without paying (respCode 69)
//	POST /unionpay/gateway/api/queryTrans.do      transaction status query (consumptions and refunds)
//	POST /unionpay/gateway/api/backTransReq.do    refunds (退货, txnType 04), see refund.go
//	POST /unionpay/filedownload/                  file transfer (txnType 76), see filetrans.go
//
// The sandbox payment password is 123456 and the SMS code 111111; any other
// value is a wrong try, and the third fails the payment with 67.
package unionpaysandbox

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"im2pay/payment/sandbox/sim"
	"im2pay/payment/unionpay"
)

const name = "unionpay"

// Sandbox is the simulated UnionPay gateway. Orders live in memory.
type Sandbox struct {
	// WebOrigin is where the card page is served (see sim.Pages); empty:
	// on the gateway's origin.
	WebOrigin string

	n   *sim.Notifier
	log *slog.Logger
	now func() time.Time

	key       *rsa.PrivateKey
	certPEM   string                       // signPubKeyCert, with CRLF line ends
	merchants map[string]*x509.Certificate // merId → the merchant's signing certificate

	mu     sync.Mutex
	orders map[string]*order // merId + "|" + orderId
	byTN   map[string]*order // the card page's token

	refunds  map[string]*refund       // 04 transactions: merId + "|" + orderId
	switches map[string]*RefundSwitch // consumption orderId → how its next refund goes
	edits    map[string]BillEdit      // orderId → how its settlement record is falsified
}

var _ sim.Simulator = (*Sandbox)(nil)

// New loads the keys Provision made under dir and serves the merchant they
// name. n delivers notifications; log may be nil.
func New(dir string, n *sim.Notifier, log *slog.Logger) (*Sandbox, error) {
	if n == nil {
		return nil, errors.New("unionpay sandbox: a notifier is required")
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	kd := filepath.Join(dir, keyDirName)
	if err := checkComplete(kd); err != nil {
		return nil, err
	}
	key, err := unionpay.LoadPrivateKey(filepath.Join(kd, acpKeyFile))
	if err != nil {
		return nil, err
	}
	certPEM, err := os.ReadFile(filepath.Join(kd, acpCertFile))
	if err != nil {
		return nil, err
	}
	merCerts, err := unionpay.LoadCertificates(filepath.Join(kd, merCertFile))
	if err != nil {
		return nil, err
	}
	mer, err := readMerchant(kd)
	if err != nil {
		return nil, err
	}
	return &Sandbox{
		n: n, log: log, now: time.Now, key: key,
		// UnionPay sends its certificate with CRLF line ends. That matters:
		// a browser submitting the front notification turns every line end
		// into CRLF, and signPubKeyCert is covered by the signature.
		certPEM:   strings.ReplaceAll(strings.ReplaceAll(string(certPEM), "\r\n", "\n"), "\n", "\r\n"),
		merchants: map[string]*x509.Certificate{mer.MerID: merCerts[0]},
		orders:    map[string]*order{}, byTN: map[string]*order{},
		refunds: map[string]*refund{}, switches: map[string]*RefundSwitch{}, edits: map[string]BillEdit{},
	}, nil
}

// Name is "unionpay".
func (s *Sandbox) Name() string { return name }

// Routes registers the gateway's endpoints and the card page.
func (s *Sandbox) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /"+name+"/gateway/api/frontTransReq.do", s.frontTransReq)
	mux.HandleFunc("POST /"+name+"/gateway/api/queryTrans.do", s.queryTrans)
	mux.HandleFunc("POST /"+name+"/gateway/api/backTransReq.do", s.backTransReq)
	mux.HandleFunc("POST /"+name+"/filedownload/", s.fileTransfer)
	mux.HandleFunc("GET /"+name+"/gateway/cashier/{tn}", s.cashierPage)
	mux.HandleFunc("POST /"+name+"/gateway/cashier/{tn}", s.cashierPay)
	mux.HandleFunc("GET /"+name+"/gateway/cashier/{tn}/cancel", s.cashierCancel)
}

// signString is ACP's signed text: fields but signature, sorted, k=v&k=v.
// Written apart from the merchant's so a bug on one side shows in tests.
func signString(f map[string]string) string {
	g := make(map[string]string, len(f))
	for k, v := range f {
		if k != "signature" {
			g[k] = v
		}
	}
	return encodeRaw(g)
}

func acpDigest(f map[string]string) []byte {
	h := sha256.Sum256([]byte(signString(f)))
	hh := sha256.Sum256([]byte(hex.EncodeToString(h[:])))
	return hh[:]
}

// sign completes f as UnionPay does: signMethod, its certificate, signature.
func (s *Sandbox) sign(f map[string]string) map[string]string {
	f["signMethod"] = "01"
	f["signPubKeyCert"] = s.certPEM
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, acpDigest(f))
	if err != nil {
		panic(fmt.Sprintf("unionpay sandbox: sign: %v", err)) // only on a broken key
	}
	f["signature"] = base64.StdEncoding.EncodeToString(sig)
	return f
}

// verifyMerchant checks a merchant's request: the merId must be known, the
// certId must be that merchant's certificate, the signature must verify.
// It returns the ACP code to refuse with, or "".
func (s *Sandbox) verifyMerchant(f map[string]string) string {
	cert := s.merchants[f["merId"]]
	if cert == nil {
		return "31" // 商户状态不正确: no such merchant here
	}
	sig, err := base64.StdEncoding.DecodeString(f["signature"])
	pub, _ := cert.PublicKey.(*rsa.PublicKey)
	if err != nil || pub == nil || f["signMethod"] != "01" || f["certId"] != cert.SerialNumber.String() ||
		rsa.VerifyPKCS1v15(pub, crypto.SHA256, acpDigest(f), sig) != nil {
		return "11" // 验证签名失败
	}
	return ""
}

// fields flattens a form, refusing repeated names (报文格式错误).
func fields(v url.Values) (map[string]string, bool) {
	m := make(map[string]string, len(v))
	for k, vs := range v {
		if len(vs) != 1 {
			return nil, false
		}
		m[k] = vs[0]
	}
	return m, true
}

// encodeRaw writes an ACP synchronous answer: sorted k=v pairs joined by &,
// not URL-encoded (that is how the gateway answers; the SDKs parse it).
func encodeRaw(f map[string]string) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k + "=" + f[k])
	}
	return b.String()
}

func toValues(f map[string]string) url.Values {
	v := make(url.Values, len(f))
	for k, x := range f {
		v.Set(k, x)
	}
	return v
}
