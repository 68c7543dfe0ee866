package unionpay

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // CFCA's root and middle sign with SHA-1; see verifyLink
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strings"
	"time"
)

// ProductionOwner is the owner name UnionPay's SDKs expect in the third
// @-field of the signing certificate's CN (UNIONPAY_CNNAME in the Java, PHP,
// .NET and Ruby SDKs).
const ProductionOwner = "中国银联股份有限公司"

// certOwner applies UnionPay's SDK rule for who a signing certificate
// belongs to: split the subject CN on '@'; with fewer than three parts it
// belongs to no one, else the third part is the owner. A real CN reads
// 041@Z12@中国银联股份有限公司@00000001.
//
// Sources: the Java SDK's CertUtil.getIdentitiesFromCertficate splits the
// subject DN from "CN=" on '@' and takes [2] when there are more than two
// parts, and verifyCertificate compares it with UNIONPAY_CNNAME using
// equals, no trimming (Javen205/IJPay@1578808
// src/main/java/com/jpay/unionpay/CertUtil.java, a copy of UnionPay's
// acpsdk); the PHP SDK does explode('@', CN), returns null when
// count < 3, else [2] (public copies found by the string
// "function getIdentitiesFromCertficate"). With ifValidateCNName=false
// (the PHP demo config says "正式环境设置为true") they also accept
// "00040000:SIGN", the third field of UnionPay's test-environment
// certificates (PROVIDERS.md §3.8). We accept exactly one configured name:
// set verify_cert_owner to 00040000:SIGN against UnionPay's test
// environment. Which name today's test signing certificate carries is not
// documented anywhere we found.
func certOwner(c *x509.Certificate) (string, error) {
	var cns []string
	for _, atv := range c.Subject.Names {
		if atv.Type.Equal(oidCommonName) {
			s, _ := atv.Value.(string)
			cns = append(cns, s)
		}
	}
	// Go keeps only the last CN in Subject.CommonName and the SDKs read the
	// first from a DN string; a subject with two must not let them differ.
	if len(cns) != 1 {
		return "", fmt.Errorf("subject has %d common names, want 1", len(cns))
	}
	parts := strings.Split(cns[0], "@")
	if len(parts) < 3 {
		return "", fmt.Errorf("CN %q has %d @-fields, want at least 3", cns[0], len(parts))
	}
	return parts[2], nil
}

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// chain is UnionPay's trust as production ships it: acp_prod_root.cer and
// acp_prod_middle.cer (PROVIDERS.md §3.8: CFCA CS CA → CFCA OCA1).
type chain struct {
	root, middle *x509.Certificate
	owner        string
}

// newChain checks once, at start, that middle is a CA that root issued,
// so a misconfigured pair fails New rather than every notification. The
// dates are left to each message, which has the clock. The root's own
// self-signature is not checked: it is trusted because it is configured,
// as the SDKs use it (a PKIX TrustAnchor, openssl's trusted store).
func newChain(root, middle *x509.Certificate, owner string) (*chain, error) {
	if err := canIssue(root); err != nil {
		return nil, fmt.Errorf("the root certificate: %w", err)
	}
	if err := verifyLink(middle, root, 1); err != nil {
		return nil, fmt.Errorf("the middle certificate does not chain to the root: %w", err)
	}
	if err := canIssue(middle); err != nil {
		return nil, fmt.Errorf("the middle certificate: %w", err)
	}
	return &chain{root: root, middle: middle, owner: owner}, nil
}

// CheckChain checks a root and middle pair as New does: the root may issue
// certificates, and the middle is a CA that the root issued, link by link
// (SHA-1 signatures accepted, as CFCA's are). Dates are not checked. It is
// for tools that check a configuration before the app loads it (im2pay
// check), so that they apply the rule New applies rather than their own.
func CheckChain(root, middle *x509.Certificate) error {
	_, err := newChain(root, middle, ProductionOwner)
	return err
}

// verify accepts leaf only as root → middle → leaf, every certificate
// valid at now, and leaf owned by the configured name. It checks by hand
// because x509.Verify refuses SHA-1 signatures outright since Go 1.24
// (golang/go#62048) and CFCA's root and middle are sha1WithRSAEncryption.
// Revocation is not checked; the SDKs turn it off (setRevocationEnabled
// false in the Java SDK).
func (c *chain) verify(leaf *x509.Certificate, now time.Time) error {
	for _, x := range []struct {
		name string
		cert *x509.Certificate
	}{{"signing certificate", leaf}, {"middle certificate", c.middle}, {"root certificate", c.root}} {
		if now.Before(x.cert.NotBefore) || now.After(x.cert.NotAfter) {
			return fmt.Errorf("%s %q is valid %s to %s, not at %s", x.name, x.cert.Subject.CommonName,
				x.cert.NotBefore.Format(time.RFC3339), x.cert.NotAfter.Format(time.RFC3339), now.Format(time.RFC3339))
		}
	}
	// The middle's link to the root was checked by newChain and both are
	// fixed, so only the leaf's link remains.
	if err := verifyLink(leaf, c.middle, 0); err != nil {
		return fmt.Errorf("signing certificate %q is not issued by the middle certificate: %w", leaf.Subject.CommonName, err)
	}
	if leaf.IsCA {
		return fmt.Errorf("signing certificate %q is a CA", leaf.Subject.CommonName)
	}
	owner, err := certOwner(leaf)
	if err != nil {
		return fmt.Errorf("signing certificate: %w", err)
	}
	if owner != c.owner {
		return fmt.Errorf("signing certificate belongs to %q, not %q", owner, c.owner)
	}
	return nil
}

// verifyLink checks that parent issued child: names, parent's CA flag,
// key usage and path length, and child's signature under parent's key.
// below is how many CA certificates the chain has under parent, not
// counting the leaf (RFC 5280 §4.2.1.9). Leaf key usage is not checked:
// the SDKs do not check it, and no document says what UnionPay's leaf carries.
func verifyLink(child, parent *x509.Certificate, below int) error {
	if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
		return fmt.Errorf("issuer %q is not %q", child.Issuer.String(), parent.Subject.String())
	}
	if err := canIssue(parent); err != nil {
		return err
	}
	// Go parses an absent pathLenConstraint as -1 and an explicit 0 as 0.
	if parent.MaxPathLen >= 0 && below > parent.MaxPathLen {
		return fmt.Errorf("issuer %q allows %d CAs below it, the chain has %d",
			parent.Subject.CommonName, parent.MaxPathLen, below)
	}
	pub, ok := parent.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("issuer %q has no RSA key", parent.Subject.CommonName)
	}
	hash, digest, err := tbsDigest(child)
	if err != nil {
		return err
	}
	if err := rsa.VerifyPKCS1v15(pub, hash, digest, child.Signature); err != nil {
		return fmt.Errorf("signature (%s) does not verify: %w", child.SignatureAlgorithm, err)
	}
	return nil
}

// canIssue says whether c may sign certificates at all: a CA in valid
// basic constraints, with keyCertSign when it states a key usage.
func canIssue(c *x509.Certificate) error {
	if !c.BasicConstraintsValid || !c.IsCA {
		return fmt.Errorf("%q is not a CA", c.Subject.CommonName)
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("%q may not sign certificates (key usage)", c.Subject.CommonName)
	}
	return nil
}

// tbsDigest hashes the signed part of c for its signature algorithm. SHA-1
// is accepted because CFCA's root and middle use it and UnionPay pins
// them; it is only ever checked against the configured keys.
func tbsDigest(c *x509.Certificate) (crypto.Hash, []byte, error) {
	switch c.SignatureAlgorithm {
	case x509.SHA1WithRSA:
		d := sha1.Sum(c.RawTBSCertificate) //nolint:gosec // see above
		return crypto.SHA1, d[:], nil
	case x509.SHA256WithRSA:
		d := sha256.Sum256(c.RawTBSCertificate)
		return crypto.SHA256, d[:], nil
	case x509.SHA384WithRSA:
		d := sha512.Sum384(c.RawTBSCertificate)
		return crypto.SHA384, d[:], nil
	case x509.SHA512WithRSA:
		d := sha512.Sum512(c.RawTBSCertificate)
		return crypto.SHA512, d[:], nil
	}
	return 0, nil, fmt.Errorf("signature algorithm %s is not accepted", c.SignatureAlgorithm)
}
