package unionpaysandbox

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // CFCA's root and middle are SHA-1; the sandbox plays them
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
)

// sha1WithRSA is the signature algorithm of UnionPay's CFCA root and middle
// certificates (PROVIDERS.md §3.8), which the sandbox's root and middle
// copy so that the merchant's chain check meets SHA-1 links as in production.
var sha1WithRSA = pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5},
	Parameters: asn1.NullRawValue}

// resignSHA1 turns a certificate x509.CreateCertificate made into the same
// certificate signed with sha1WithRSAEncryption by key: CreateCertificate
// refuses to sign with SHA-1, so the algorithm is swapped in the
// TBSCertificate and outside it, and the TBSCertificate signed again.
func resignSHA1(der []byte, key *rsa.PrivateKey) ([]byte, error) {
	var outer struct {
		TBS, Alg asn1.RawValue
		Sig      asn1.BitString
	}
	if rest, err := asn1.Unmarshal(der, &outer); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("unionpay sandbox: re-sign with SHA-1: certificate: %v", err)
	}
	// version [0], serialNumber, signature, issuer, … (RFC 5280 §4.1); the
	// sandbox makes only v3 certificates, so signature is the third.
	var tbs []asn1.RawValue
	if _, err := asn1.Unmarshal(outer.TBS.FullBytes, &tbs); err != nil || len(tbs) < 7 {
		return nil, fmt.Errorf("unionpay sandbox: re-sign with SHA-1: TBSCertificate: %v", err)
	}
	alg, err := asn1.Marshal(sha1WithRSA)
	if err != nil {
		return nil, err
	}
	tbs[2] = asn1.RawValue{FullBytes: alg}
	tbsDER, err := asn1.Marshal(tbs)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(tbsDER) //nolint:gosec // see the import
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA1, sum[:])
	if err != nil {
		return nil, fmt.Errorf("unionpay sandbox: re-sign with SHA-1: %w", err)
	}
	outer.TBS, outer.Alg = asn1.RawValue{FullBytes: tbsDER}, asn1.RawValue{FullBytes: alg}
	outer.Sig = asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}
	return asn1.Marshal(outer)
}
