package unionpaysandbox

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"maps"
	"math/big"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"im2pay/payment"
	"im2pay/payment/unionpay"
)

// genuine is a back notification the sandbox signs for merId.
func (e *env) genuine(merID, code string) map[string]string {
	o := &order{merID: merID, orderID: "UPTAMPER00000000000001", txnTime: "20260101120000", amount: 6800,
		code: code, state: paid, queryID: "202601011200001234567", traceNo: "123456", traceTime: "0101120001",
		settleDate: "0101"}
	if code != "00" {
		o.state = failed
	}
	return e.sb.sign(e.sb.resultFields(o))
}

// signAs signs f with key and ships certDER as signPubKeyCert.
func signAs(t *testing.T, f map[string]string, key *rsa.PrivateKey, certDER []byte) map[string]string {
	t.Helper()
	f = maps.Clone(f)
	f["signPubKeyCert"] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, acpDigest(f))
	if err != nil {
		t.Fatal(err)
	}
	f["signature"] = base64.StdEncoding.EncodeToString(sig)
	return f
}

// certFor makes a certificate for key named cn, signed by parent (or self).
func certFor(t *testing.T, key *rsa.PrivateKey, cn string, parent *x509.Certificate, parentKey *rsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// Every way of forging or altering a notification fails closed.
func TestTamperedNotificationsAreRefused(t *testing.T) {
	e := newEnv(t)
	good := e.genuine(e.cfg.MerID, "00")
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	kd := filepath.Join(e.dir, keyDirName)
	rootKey, err1 := unionpay.LoadPrivateKey(filepath.Join(kd, rootKeyFile))
	roots, err2 := unionpay.LoadCertificates(filepath.Join(kd, rootCertFile))
	middleKey, err3 := unionpay.LoadPrivateKey(filepath.Join(kd, middleKeyFile))
	middles, err4 := unionpay.LoadCertificates(filepath.Join(kd, middleCertFile))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		t.Fatal(err)
	}
	byMiddle := func(cn string) []byte { return certFor(t, other, cn, middles[0], middleKey) }
	with := func(k, v string) map[string]string { f := maps.Clone(good); f[k] = v; return f }
	without := func(k string) map[string]string { f := maps.Clone(good); delete(f, k); return f }
	refund := with("txnType", "04")
	cases := []struct {
		name string
		body string
		want error
	}{
		{"a genuine notification verifies", enc(good), nil},
		{"a changed amount breaks the signature", enc(with("txnAmt", "1")), payment.ErrBadSignature},
		{"a changed status breaks the signature", enc(e.swap(e.genuine(e.cfg.MerID, "60"), "respCode", "00")), payment.ErrBadSignature},
		{"a signature from another key with its own certificate is refused",
			enc(signAs(t, good, other, certFor(t, other, SandboxCN, nil, nil))), payment.ErrBadSignature},
		{"a signature from another key under UnionPay's certificate is refused",
			enc(e.swap(signAs(t, good, other, certFor(t, other, SandboxCN, nil, nil)), "signPubKeyCert", e.sb.certPEM)), payment.ErrBadSignature},
		{"a certificate from the same middle for someone else is refused",
			enc(signAs(t, good, other, byMiddle("某商户 SIGN"))), payment.ErrBadSignature},
		{"a certificate from the same middle whose third @-field names someone else is refused",
			enc(signAs(t, good, other, byMiddle("041@Z12@某商户@00000001"))), payment.ErrBadSignature},
		{"UnionPay's CN signed by the root directly, skipping the middle, is refused",
			enc(signAs(t, good, other, certFor(t, other, SandboxCN, roots[0], rootKey))), payment.ErrBadSignature},
		{"a CN that is just the name, without @-fields, is refused",
			enc(signAs(t, good, other, byMiddle(unionpay.ProductionOwner))), payment.ErrBadSignature},
		{"a new UnionPay certificate from the same middle verifies (a key rotation needs no configuration)",
			enc(signAs(t, good, other, byMiddle(SandboxCN))), nil},
		{"a missing signature is refused", enc(without("signature")), payment.ErrBadSignature},
		{"a missing certificate is refused", enc(without("signPubKeyCert")), payment.ErrBadSignature},
		{"another signMethod is refused", enc(with("signMethod", "11")), payment.ErrBadSignature},
		{"another merchant's valid message is refused", enc(e.genuine("777290058999999", "00")), payment.ErrWrongMerchant},
		{"a repeated field is refused", enc(good) + "&txnAmt=1", payment.ErrMalformed},
		{"an undecodable body is refused", "respCode=%zz", payment.ErrMalformed},
		// Refund notices are parsed as refunds now (refund_test.go); a signed
		// 04 without origQryId names no consumption: neither refund nor payment.
		{"a signed 04 notice naming no consumption is refused", enc(e.sb.sign(refund)), payment.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.p.ParseNotification(context.Background(), http.Header{}, []byte(c.body))
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	t.Run("a tampered front notification is refused", func(t *testing.T) {
		_, err := e.p.ParseReturn(context.Background(), nil, url.Values(toValues(with("respCode", "69"))))
		if !errors.Is(err, payment.ErrBadSignature) {
			t.Fatalf("err = %v", err)
		}
	})
}

// swap replaces a field after signing (so the signature no longer covers it).
func (e *env) swap(f map[string]string, k, v string) map[string]string {
	f = maps.Clone(f)
	f[k] = v
	return f
}

func enc(f map[string]string) string { return toValues(f).Encode() }
