package unionpaysandbox

import (
	"crypto/rsa"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"im2pay/payment/sandbox/sandboxmark"
	"im2pay/payment/sandbox/sim"
	"im2pay/payment/unionpay"
)

// A second Provision reuses the key set (files 0600) and only re-points the
// URLs; a damaged set and a config without keys fail clearly.
func TestProvisionReusesKeysAndNewFailsClearly(t *testing.T) {
	dir := provisionDir(t)
	a, err := Provision(dir, "http://sandbox.test")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Provision(dir, "http://other.test/")
	if err != nil {
		t.Fatal(err)
	}
	if a.MerID != b.MerID || a.SignKeyFile != b.SignKeyFile ||
		b.FrontTransURL != "http://other.test/unionpay/gateway/api/frontTransReq.do" {
		t.Fatalf("second Provision: %+v", b)
	}
	for _, f := range []string{a.SignKeyFile, a.SignCertFile, a.VerifyRootCertFile, a.VerifyMiddleCertFile} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, fi.Mode(), err)
		}
	}
	if _, err := unionpay.New(unionpay.Config{MerID: a.MerID}, nil); err == nil ||
		!strings.Contains(err.Error(), "sign_key_file") {
		t.Fatalf("New without keys: %v", err)
	}
	wrong := a
	wrong.SignCertFile = a.VerifyRootCertFile
	if _, err := unionpay.New(wrong, nil); err == nil || !strings.Contains(err.Error(), "does not certify") {
		t.Fatalf("New with a certificate of another key: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, keyDirName, acpKeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := Provision(dir, "http://sandbox.test"); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("Provision over a damaged set: %v", err)
	}
}

// The sandbox's signing certificate is UnionPay's shape: its CN read by the
// SDKs' rule (explode on '@', at least three parts, take the third; written
// here apart from the merchant's certOwner) is the configured owner, and it
// hangs under a middle and a root signed with SHA-1 like CFCA's.
func TestSandboxCertificateIsShapedLikeUnionPays(t *testing.T) {
	dir := provisionDir(t)
	cfg, err := Provision(dir, "http://sandbox.test")
	if err != nil {
		t.Fatal(err)
	}
	load := func(path string) *x509.Certificate {
		t.Helper()
		certs, err := unionpay.LoadCertificates(path)
		if err != nil || len(certs) != 1 {
			t.Fatalf("%s: %d certificates, %v", path, len(certs), err)
		}
		return certs[0]
	}
	root, middle := load(cfg.VerifyRootCertFile), load(cfg.VerifyMiddleCertFile)
	leaf := load(filepath.Join(dir, keyDirName, acpCertFile))
	parts := strings.Split(leaf.Subject.CommonName, "@")
	if len(parts) < 3 || parts[2] != cfg.VerifyCertOwner || cfg.VerifyCertOwner != unionpay.ProductionOwner {
		t.Fatalf("CN %q: SDK rule gives %q, configured owner %q", leaf.Subject.CommonName, parts, cfg.VerifyCertOwner)
	}
	if root.SignatureAlgorithm != x509.SHA1WithRSA || middle.SignatureAlgorithm != x509.SHA1WithRSA {
		t.Fatalf("root %s, middle %s: want SHA1-RSA like CFCA's", root.SignatureAlgorithm, middle.SignatureAlgorithm)
	}
	// Checked here with crypto/x509's primitives, not the merchant's code.
	if err := leaf.CheckSignatureFrom(middle); err != nil {
		t.Fatalf("leaf under middle: %v", err)
	}
	if err := root.CheckSignature(middle.SignatureAlgorithm, middle.RawTBSCertificate, middle.Signature); err != nil ||
		!middle.IsCA || !root.IsCA || leaf.IsCA {
		t.Fatalf("middle under root: %v (CA flags root %v middle %v leaf %v)", err, root.IsCA, middle.IsCA, leaf.IsCA)
	}
	mer := load(cfg.SignCertFile)
	if err := mer.CheckSignatureFrom(middle); err != nil {
		t.Fatalf("merchant certificate under middle: %v", err)
	}
	// Every key carries the sandbox's mark, so production recognises it.
	for name, c := range map[string]*x509.Certificate{"root": root, "middle": middle, "UnionPay's": leaf, "merchant's": mer} {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); !ok || !sandboxmark.IsKey(pub) {
			t.Errorf("the %s certificate's key carries no sandbox mark", name)
		}
	}
}

// A key set made before the sandbox had a middle certificate is replaced
// by a whole new one that the merchant and the sandbox both load.
func TestProvisionReplacesAKeySetWithoutAMiddle(t *testing.T) {
	dir := provisionDir(t)
	kd := filepath.Join(dir, keyDirName)
	for _, f := range []string{middleCertFile, middleKeyFile} {
		if err := os.Remove(filepath.Join(kd, f)); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := Provision(dir, "http://sandbox.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkComplete(kd); err != nil {
		t.Fatal(err)
	}
	if _, err := unionpay.New(cfg, nil); err != nil {
		t.Fatalf("merchant over the new set: %v", err)
	}
	n := sim.NewNotifier(nil, 0.001, nil)
	t.Cleanup(n.Close)
	if _, err := New(dir, n, nil); err != nil {
		t.Fatalf("sandbox over the new set: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("%s holds %d entries (%v), want only %s", dir, len(entries), err, keyDirName)
	}
}
