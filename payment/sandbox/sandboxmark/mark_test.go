package sandboxmark

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"testing"
)

func TestASandboxKeyIsAnOrdinaryKeyThatCarriesTheMark(t *testing.T) {
	k, err := Key()
	if err != nil {
		t.Fatal(err)
	}
	if k.N.BitLen() != 2048 || k.E != 65537 {
		t.Fatalf("key is %d bits with e=%d", k.N.BitLen(), k.E)
	}
	if !IsKey(&k.PublicKey) {
		t.Fatal("a sandbox key is not recognised")
	}
	// It must survive re-encoding and still sign like any RSA key.
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	back, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	if !IsKey(&back.(*rsa.PrivateKey).PublicKey) {
		t.Fatal("the mark was lost in PKCS#8")
	}
	sum := sha256.Sum256([]byte("hello"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err != nil || rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		t.Fatalf("a sandbox key cannot sign: %v", err)
	}
}

func TestAFreshlyGeneratedKeyIsNotTakenForASandboxKey(t *testing.T) {
	for range 3 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		if IsKey(&k.PublicKey) {
			t.Fatal("an ordinary key was taken for a sandbox key")
		}
	}
	if IsKey(nil) {
		t.Fatal("no key was taken for a sandbox key")
	}
}

func TestSecretsAreRecognisedByTheirTagAndOthersAreNot(t *testing.T) {
	s, err := Secret("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		secret string
		want   bool
	}{
		{"a sandbox secret", s, true},
		{"a sandbox secret read with its newline", s + "\n", true},
		{"a sandbox secret with one character changed", "X" + s[1:], s[0] == 'X'},
		{"a secret someone typed", "0123456789abcdefghijklmnopqrstuv", false},
		{"an empty secret", "", false},
	}
	for _, c := range cases {
		if got := IsSecret(c.secret); got != c.want {
			t.Errorf("%s: IsSecret = %v, want %v", c.name, got, c.want)
		}
	}
	if _, err := Secret("abc", 10); err == nil {
		t.Error("a secret too short to tag was made")
	}
}
