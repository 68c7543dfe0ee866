package unionpay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // the test chain is SHA-1 like CFCA's
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// at is the tests' one clock: every certificate is dated around it and the
// provider's now returns it, so no check depends on when the tests run.
var at = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// realCN is the shape of UnionPay's real signing certificate CN.
const realCN = "041@Z12@" + ProductionOwner + "@00000001"

// testKeys are generated once per run: RSA generation is the slow part,
// and which certificate uses which key is all the tests vary.
var testKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 6)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

// issued is a certificate with its private key.
type issued struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

// certSpec says what to issue; the zero value is a one-year end-entity
// certificate signed with SHA-256.
type certSpec struct {
	cn         string
	names      []string // extra subject CNs, after cn
	ca         bool
	maxPathLen int // with ca: -1 for none
	keyUsage   x509.KeyUsage
	from, to   time.Time
	sha1       bool
	key        int // index into testKeys
}

// issue makes s's certificate signed by parent, or self-signed when parent
// is nil. A SHA-1 certificate is made as SHA-256 and then re-signed by
// hand: x509.CreateCertificate refuses SHA1WithRSA, and CFCA's root and
// middle are sha1WithRSAEncryption, so that is what the tests must carry.
func issue(t testing.TB, s certSpec, parent *issued) *issued {
	t.Helper()
	key := testKeys()[s.key]
	if s.from.IsZero() {
		s.from, s.to = at.AddDate(0, -1, 0), at.AddDate(1, 0, 0)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(1000 + s.key)), Subject: pkix.Name{CommonName: s.cn},
		NotBefore: s.from, NotAfter: s.to, KeyUsage: s.keyUsage, BasicConstraintsValid: true,
		SignatureAlgorithm: x509.SHA256WithRSA}
	if len(s.names) > 0 {
		// Go drops CommonName when ExtraNames has a CN, so then every CN
		// goes in ExtraNames, cn first.
		for _, n := range append([]string{s.cn}, s.names...) {
			tmpl.Subject.ExtraNames = append(tmpl.Subject.ExtraNames, pkix.AttributeTypeAndValue{Type: oidCommonName, Value: n})
		}
	}
	if s.ca {
		tmpl.IsCA, tmpl.MaxPathLen, tmpl.MaxPathLenZero = true, s.maxPathLen, s.maxPathLen == 0
		if s.keyUsage == 0 {
			tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		}
	}
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	if s.sha1 {
		der = resignSHA1(t, der, signer)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &issued{cert: c, key: key}
}

var sha1WithRSA = pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5},
	Parameters: asn1.NullRawValue}

// resignSHA1 swaps the signature algorithm in der's TBSCertificate (and
// outside it) for sha1WithRSAEncryption and signs the result with key.
func resignSHA1(t testing.TB, der []byte, key *rsa.PrivateKey) []byte {
	t.Helper()
	var outer struct {
		TBS, Alg asn1.RawValue
		Sig      asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &outer); err != nil {
		t.Fatal(err)
	}
	var tbs []asn1.RawValue // version [0], serial, signature, issuer, validity, …
	if _, err := asn1.Unmarshal(outer.TBS.FullBytes, &tbs); err != nil {
		t.Fatal(err)
	}
	alg, err := asn1.Marshal(sha1WithRSA)
	if err != nil {
		t.Fatal(err)
	}
	tbs[2] = asn1.RawValue{FullBytes: alg}
	tbsDER, err := asn1.Marshal(tbs)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(tbsDER) //nolint:gosec // see above
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA1, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	outer.TBS, outer.Alg = asn1.RawValue{FullBytes: tbsDER}, asn1.RawValue{FullBytes: alg}
	outer.Sig = asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}
	out, err := asn1.Marshal(outer)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pki is UnionPay's shape: a SHA-1 root and middle like CFCA's, and a
// SHA-256 signing certificate with the real CN shape under the middle.
type pki struct {
	root, middle, leaf *issued
}

func newPKI(t testing.TB) pki {
	t.Helper()
	root := issue(t, certSpec{cn: "CFCA TEST CS CA", ca: true, maxPathLen: -1, sha1: true, key: 0,
		from: at.AddDate(-10, 0, 0), to: at.AddDate(10, 0, 0)}, nil)
	middle := issue(t, certSpec{cn: "CFCA TEST OCA1", ca: true, maxPathLen: 0, sha1: true, key: 1,
		from: at.AddDate(-5, 0, 0), to: at.AddDate(5, 0, 0)}, root)
	leaf := issue(t, certSpec{cn: realCN, keyUsage: x509.KeyUsageDigitalSignature, key: 2}, middle)
	return pki{root: root, middle: middle, leaf: leaf}
}

// writePEM writes certs to a file in dir and returns its path.
func writePEM(t testing.TB, dir, name string, certs ...*x509.Certificate) string {
	t.Helper()
	var data []byte
	for _, c := range certs {
		data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
