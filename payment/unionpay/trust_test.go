package unionpay

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"im2pay/payment"
)

// A root and middle that cannot be UnionPay's chain fail at start, or, for
// dates, on every message: the merchant never trusts a chain it should not.
func TestConfiguredRootAndMiddleMustFormAChain(t *testing.T) {
	k := newPKI(t)
	cases := []struct {
		name         string
		root, middle *issued
		want         string // a part of newChain's error; "" when it loads
		leafErr      string // then a part of the error for UnionPay's leaf
	}{
		{name: "the real shape loads", root: k.root, middle: k.middle},
		{name: "a CA=false middle is refused", root: k.root,
			middle: issue(t, certSpec{cn: "CFCA TEST OCA1", keyUsage: x509.KeyUsageCertSign, sha1: true, key: 1}, k.root),
			want:   "is not a CA"},
		{name: "a middle that may not sign certificates is refused", root: k.root,
			middle: issue(t, certSpec{cn: "CFCA TEST OCA1", ca: true, maxPathLen: 0, keyUsage: x509.KeyUsageDigitalSignature, key: 1}, k.root),
			want:   "may not sign certificates"},
		{name: "a middle another root issued is refused", root: k.root, middle: newPKIWithKeys(t, 3, 4, 5).middle,
			want: "does not verify"},
		{name: "a middle of another name is refused", root: k.root,
			middle: issue(t, certSpec{cn: "CFCA TEST OCA1", ca: true, maxPathLen: 0, key: 1}, issue(t, certSpec{cn: "Other CA", ca: true, maxPathLen: -1, key: 0}, nil)),
			want:   "issuer"},
		{name: "a root whose path length forbids a middle is refused",
			root:   issue(t, certSpec{cn: "CFCA TEST CS CA", ca: true, maxPathLen: 0, key: 0}, nil),
			middle: k.middle, want: "allows 0 CAs"},
		{name: "a root that is not a CA is refused", root: issue(t, certSpec{cn: "CFCA TEST CS CA", key: 0}, nil),
			middle: k.middle, want: "is not a CA"},
		{name: "an expired middle refuses every message", root: k.root,
			middle:  issue(t, certSpec{cn: "CFCA TEST OCA1", ca: true, maxPathLen: 0, sha1: true, key: 1, from: at.AddDate(-5, 0, 0), to: at.AddDate(0, 0, -1)}, k.root),
			leafErr: "middle certificate"},
		{name: "an expired root refuses every message",
			root:    issue(t, certSpec{cn: "CFCA TEST CS CA", ca: true, maxPathLen: -1, sha1: true, key: 0, from: at.AddDate(-20, 0, 0), to: at.AddDate(0, 0, -1)}, nil),
			middle:  k.middle,
			leafErr: "root certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newChain(tc.root.cert, tc.middle.cert, ProductionOwner)
			// im2pay check applies the same rule through CheckChain.
			if check := CheckChain(tc.root.cert, tc.middle.cert); (check == nil) != (err == nil) {
				t.Fatalf("CheckChain = %v, but newChain = %v", check, err)
			}
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("newChain = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// UnionPay's leaf, issued by this middle's key and name.
			leaf := issue(t, certSpec{cn: realCN, key: 2}, tc.middle).cert
			err = c.verify(leaf, at)
			if (tc.leafErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.leafErr) {
				t.Fatalf("verify = %v, want %q", err, tc.leafErr)
			}
		})
	}
}

// merchantFiles writes a merchant key and certificate and UnionPay's root
// and middle, and returns a Config naming them.
func merchantFiles(t *testing.T, k pki) Config {
	t.Helper()
	dir := t.TempDir()
	mer := issue(t, certSpec{cn: "merchant 777290058000001 SIGN", key: 3}, k.middle)
	der, err := x509.MarshalPKCS8PrivateKey(mer.key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "merchant-key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return Config{MerID: "777290058000001", FrontTransURL: "https://gateway.test/frontTransReq.do",
		QueryURL: "https://gateway.test/queryTrans.do", SignKeyFile: keyFile,
		SignCertFile:         writePEM(t, dir, "merchant-cert.pem", mer.cert),
		VerifyRootCertFile:   writePEM(t, dir, "acp_test_root.cer", k.root.cert),
		VerifyMiddleCertFile: writePEM(t, dir, "acp_test_middle.cer", k.middle.cert)}
}

// New reads a root and a middle file and says what is wrong with them.
func TestNewTakesARootAndAMiddleFile(t *testing.T) {
	k := newPKI(t)
	cfg := merchantFiles(t, k)
	if _, err := New(cfg, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"an old config with only verify_cert_file says what replaced it", func(c *Config) {
			c.LegacyVerifyCertFile, c.VerifyRootCertFile, c.VerifyMiddleCertFile = c.VerifyRootCertFile, "", ""
		}, "verify_cert_file was replaced by verify_root_cert_file and verify_middle_cert_file"},
		{"a missing middle file is named", func(c *Config) { c.VerifyMiddleCertFile = "" }, "verify_middle_cert_file"},
		{"root and middle swapped are refused", func(c *Config) {
			c.VerifyRootCertFile, c.VerifyMiddleCertFile = c.VerifyMiddleCertFile, c.VerifyRootCertFile
		}, "does not chain to the root"},
		{"a root file holding two certificates is refused", func(c *Config) {
			c.VerifyRootCertFile = writePEM(t, t.TempDir(), "both.pem", k.root.cert, k.middle.cert)
		}, "holds 2 certificates"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			tc.edit(&c)
			if _, err := New(c, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want %q", err, tc.want)
			}
		})
	}
}

// A back notification signed by UnionPay's leaf verifies under the
// provider's clock; the same message after the leaf expires, or from an
// outsider's chain with the right CN, is refused as a bad signature.
func TestNotificationsVerifyThroughTheChainAtTheProvidersClock(t *testing.T) {
	k := newPKI(t)
	p, err := New(merchantFiles(t, k), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := at
	p.now = func() time.Time { return now }
	fields := map[string]string{"version": version, "encoding": encoding, "bizType": bizGateway, "txnType": txnConsume,
		"txnSubType": "01", "accessType": accessDirect, "merId": "777290058000001", "orderId": "UP00000000000000000001",
		"txnTime": "20300601200000", "txnAmt": "6800", "currencyCode": currencyCNY, "respCode": "00",
		"respMsg": "成功[0000000]", "queryId": "203006012000001234567", "traceNo": "123456", "traceTime": "0601200001"}
	signedBy := func(signer *issued) []byte {
		f := maps.Clone(fields)
		f["signMethod"] = signMethod
		f["signPubKeyCert"] = strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: signer.cert.Raw})), "\n", "\r\n")
		sig, err := sign(signer.key, f)
		if err != nil {
			t.Fatal(err)
		}
		f["signature"] = sig
		v := url.Values{}
		for name, x := range f {
			v.Set(name, x)
		}
		return []byte(v.Encode())
	}
	parse := func(body []byte) error {
		_, err := p.ParseNotification(context.Background(), http.Header{}, body)
		return err
	}
	if err := parse(signedBy(k.leaf)); err != nil {
		t.Fatalf("UnionPay's notification: %v", err)
	}
	if err := parse(signedBy(newPKIWithKeys(t, 3, 4, 5).leaf)); !errors.Is(err, payment.ErrBadSignature) {
		t.Fatalf("outsider's chain with the right CN: %v", err)
	}
	if err := parse(signedBy(issue(t, certSpec{cn: realCN, key: 5}, nil))); !errors.Is(err, payment.ErrBadSignature) {
		t.Fatalf("self-signed certificate with the right CN: %v", err)
	}
	now = k.leaf.cert.NotAfter.Add(time.Second)
	if err := parse(signedBy(k.leaf)); !errors.Is(err, payment.ErrBadSignature) || !strings.Contains(err.Error(), "valid") {
		t.Fatalf("after the leaf expired: %v", err)
	}
}
