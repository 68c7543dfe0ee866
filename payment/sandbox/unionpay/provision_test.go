package unionpaysandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	for _, f := range []string{a.SignKeyFile, a.SignCertFile, a.VerifyCertFile} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, fi.Mode(), err)
		}
	}
	if _, err := unionpay.New(unionpay.Config{MerID: a.MerID}, nil); err == nil ||
		!strings.Contains(err.Error(), "sign_key_file") {
		t.Fatalf("New without keys: %v", err)
	}
	wrong := a
	wrong.SignCertFile = a.VerifyCertFile
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
