package unionpay

import (
	"crypto/x509"
	"strings"
	"testing"
)

// The test chain is SHA-1 like CFCA's, which Go's own verifier refuses:
// that is why chain.go checks each link by hand.
func TestTheTestChainIsSHA1LikeCFCAsAndGoRefusesIt(t *testing.T) {
	k := newPKI(t)
	if k.root.cert.SignatureAlgorithm != x509.SHA1WithRSA || k.middle.cert.SignatureAlgorithm != x509.SHA1WithRSA {
		t.Fatalf("root %s, middle %s: want SHA1-RSA", k.root.cert.SignatureAlgorithm, k.middle.cert.SignatureAlgorithm)
	}
	roots, mids := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(k.root.cert)
	mids.AddCert(k.middle.cert)
	_, err := k.leaf.cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: mids, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err == nil || !strings.Contains(err.Error(), "insecure algorithm SHA1-RSA") {
		t.Fatalf("x509.Verify = %v, want a refusal of SHA1-RSA (else this test chain is not like CFCA's)", err)
	}
}

// The SDKs' rule: at least three @-fields, and the third is the owner,
// compared exactly.
func TestCertOwnerIsTheThirdAtField(t *testing.T) {
	cases := []struct {
		cn    string
		names []string
		want  string // "" for refused
	}{
		{cn: realCN, want: ProductionOwner},
		{cn: "041@Z2014-11-11@00040000:SIGN@00000005", want: "00040000:SIGN"},
		{cn: "a@b@" + ProductionOwner, want: ProductionOwner},
		{cn: "041@Z12@ " + ProductionOwner + " @00000001", want: " " + ProductionOwner + " "},
		{cn: "041@" + ProductionOwner},
		{cn: ProductionOwner},
		{cn: ""},
		{cn: realCN, names: []string{"041@Z12@somebody@00000001"}},
	}
	for _, c := range cases {
		leaf := issue(t, certSpec{cn: c.cn, names: c.names, key: 3}, nil)
		got, err := certOwner(leaf.cert)
		if (err == nil) != (c.want != "") || got != c.want {
			t.Errorf("certOwner(%q %q) = %q, %v; want %q", c.cn, c.names, got, err, c.want)
		}
	}
}

// Every certificate an outsider could bring is refused; only UnionPay's
// leaf under the configured root and middle, valid at the clock, passes.
func TestChainAcceptsOnlyUnionPaysLeafUnderTheConfiguredRootAndMiddle(t *testing.T) {
	k := newPKI(t)
	other := newPKIWithKeys(t, 3, 4, 5)
	leafUnder := func(parent *issued, s certSpec) *x509.Certificate {
		if s.cn == "" {
			s.cn = realCN
		}
		s.key = 5
		return issue(t, s, parent).cert
	}
	// A certificate with the middle's name and key but not a CA: the middle
	// may have issued such a thing to no one, yet its signature is genuine.
	nonCA := issue(t, certSpec{cn: "merchant 777290058000001 SIGN", key: 4}, k.middle)
	cases := []struct {
		name string
		leaf *x509.Certificate
		want string // "" accepted, else a part of the error
	}{
		{"UnionPay's leaf (real CN shape) under the root and middle is accepted", k.leaf.cert, ""},
		{"a SHA-1 leaf under the root and middle is accepted", leafUnder(k.middle, certSpec{sha1: true}), ""},
		{"the right CN under another root and middle is refused", other.leaf.cert, "not issued by the middle"},
		{"the right CN signed directly by the root, skipping the middle, is refused", leafUnder(k.root, certSpec{}), "not issued by the middle"},
		{"the right CN self-signed is refused", issue(t, certSpec{cn: realCN, key: 5}, nil).cert, "not issued by the middle"},
		{"the right CN issued by a non-CA certificate of the middle is refused", leafUnder(nonCA, certSpec{}), "not issued by the middle"},
		{"a leaf whose third field differs is refused", leafUnder(k.middle, certSpec{cn: "041@Z12@中国银联@00000001"}), "belongs to"},
		{"a CN with only two fields is refused", leafUnder(k.middle, certSpec{cn: "041@" + ProductionOwner}), "want at least 3"},
		{"the bare name without @-fields is refused", leafUnder(k.middle, certSpec{cn: ProductionOwner}), "want at least 3"},
		{"a third field with extra spaces is refused", leafUnder(k.middle, certSpec{cn: "041@Z12@ " + ProductionOwner + " @00000001"}), "belongs to"},
		{"a second CN naming someone else is refused", leafUnder(k.middle, certSpec{names: []string{"041@Z12@x@1"}}), "2 common names"},
		{"the test environment's owner is refused under the production name", leafUnder(k.middle, certSpec{cn: "041@Z2014-11-11@00040000:SIGN@00000005"}), "belongs to"},
		{"an expired leaf is refused", leafUnder(k.middle, certSpec{from: at.AddDate(-2, 0, 0), to: at.AddDate(0, 0, -1)}), "signing certificate"},
		{"a leaf not yet valid is refused", leafUnder(k.middle, certSpec{from: at.Add(1e9), to: at.AddDate(1, 0, 0)}), "signing certificate"},
		{"a leaf that is a CA is refused", leafUnder(k.middle, certSpec{ca: true, maxPathLen: -1}), "is a CA"},
		{"a leaf with a broken signature is refused", broken(t, k.leaf.cert), "does not verify"},
	}
	c, err := newChain(k.root.cert, k.middle.cert, ProductionOwner)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.verify(tc.leaf, at)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("verify = %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("a configured owner other than the default is what the third field must equal", func(t *testing.T) {
		test, err := newChain(k.root.cert, k.middle.cert, "00040000:SIGN")
		if err != nil {
			t.Fatal(err)
		}
		if err := test.verify(leafUnder(k.middle, certSpec{cn: "041@Z2014-11-11@00040000:SIGN@00000005"}), at); err != nil {
			t.Fatal(err)
		}
		if err := test.verify(k.leaf.cert, at); err == nil || !strings.Contains(err.Error(), "belongs to") {
			t.Fatalf("production leaf under the test owner: %v", err)
		}
	})
}

func newPKIWithKeys(t *testing.T, root, middle, leaf int) pki {
	t.Helper()
	r := issue(t, certSpec{cn: "CFCA TEST CS CA", ca: true, maxPathLen: -1, sha1: true, key: root}, nil)
	m := issue(t, certSpec{cn: "CFCA TEST OCA1", ca: true, maxPathLen: 0, sha1: true, key: middle}, r)
	return pki{root: r, middle: m, leaf: issue(t, certSpec{cn: realCN, key: leaf}, m)}
}

// broken is c with one bit of its signature flipped.
func broken(t *testing.T, c *x509.Certificate) *x509.Certificate {
	t.Helper()
	raw := append([]byte(nil), c.Raw...)
	raw[len(raw)-1] ^= 1
	b, err := x509.ParseCertificate(raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
