package main

import (
	"crypto/rsa"
	"crypto/x509"
	"strings"
	"time"

	"im2pay/payment/unionpay"
)

// unionpay checks the card section: the merchant's key and certificate,
// UnionPay's root and middle certificates (one each, the middle issued by
// the root, by the rule the app itself applies: unionpay.CheckChain), and
// the owner UnionPay's signing certificate must name.
func (c *checklist) unionpay(cfg unionpay.Config) {
	const a = "card"
	if len(cfg.MerID) != 15 {
		c.note(a, "mer_id %q is not a 15-character UnionPay merchant number.", cfg.MerID)
	} else if strings.HasPrefix(cfg.MerID, "777290058") {
		c.note(a, "mer_id %s is one of UnionPay's public test merchant numbers.", cfg.MerID)
	}
	key := c.privateKey(a, "sign_key_file", cfg.SignKeyFile, false)
	if certs := c.certificates(a, "sign_cert_file", cfg.SignCertFile); len(certs) > 0 {
		leaf := certs[0]
		if pub, ok := leaf.PublicKey.(*rsa.PublicKey); key != nil && (!ok || !pub.Equal(&key.PublicKey)) {
			c.note(a, "sign_cert_file does not certify the key in sign_key_file: UnionPay would refuse every request.")
		}
		c.validNow(a, "sign_cert_file", leaf)
	}
	root := c.anchor(a, "verify_root_cert_file", cfg.VerifyRootCertFile)
	middle := c.anchor(a, "verify_middle_cert_file", cfg.VerifyMiddleCertFile)
	if root != nil && middle != nil {
		if err := unionpay.CheckChain(root, middle); err != nil {
			c.note(a, "verify_root_cert_file and verify_middle_cert_file are not UnionPay's chain (root CFCA CS CA → middle CFCA OCA1): %v.", err)
		}
	}
	c.owner(cfg.VerifyCertOwner)
	// The app ignores these once the new fields are set; say so, lest
	// someone edit them expecting an effect.
	for _, f := range [][2]string{
		{"verify_cert_file", "verify_root_cert_file and verify_middle_cert_file"},
		{"verify_cert_cn", "verify_cert_owner (the third @-field of the CN alone)"},
	} {
		if _, ok := c.sections[a][f[0]]; ok {
			c.note(a, "%s is no longer read: %s replaced it. Remove it.", f[0], f[1])
		}
	}
}

// anchor reads a root or middle certificate file: one certificate, a CA,
// valid today, not UnionPay's test chain.
func (c *checklist) anchor(a, field, path string) *x509.Certificate {
	certs := c.certificates(a, field, path)
	if len(certs) == 0 {
		return nil
	}
	if len(certs) > 1 {
		c.note(a, "%s %s holds %d certificates; it must hold exactly one.", field, path, len(certs))
		return nil
	}
	cert := certs[0]
	c.validNow(a, field, cert)
	if strings.Contains(strings.ToUpper(cert.Subject.String()), "CFCA TEST") {
		c.note(a, "%s %s is UnionPay's test chain, not production.", field, describe(cert))
	}
	return cert
}

// owner checks verify_cert_owner, which the app compares with the third
// @-field of the CN of UnionPay's signing certificate (empty means
// unionpay.ProductionOwner).
func (c *checklist) owner(owner string) {
	const a = "card"
	switch {
	case owner == "" || owner == unionpay.ProductionOwner:
	case owner == "00040000:SIGN":
		c.note(a, "verify_cert_owner %s is the owner of UnionPay's test-environment certificates; production's is %s.", owner, unionpay.ProductionOwner)
	case strings.Contains(owner, "@"):
		c.note(a, "verify_cert_owner %q holds an @: it is compared with the third @-field of the CN alone (%s), so no certificate could match.", owner, unionpay.ProductionOwner)
	default:
		c.note(a, "verify_cert_owner expects UnionPay to sign as %q, but UnionPay's production certificate belongs to %s.", owner, unionpay.ProductionOwner)
	}
}

func (c *checklist) validNow(a, what string, cert *x509.Certificate) {
	now := time.Now()
	if now.After(cert.NotAfter) {
		c.note(a, "%s %s expired on %s.", what, describe(cert), cert.NotAfter.Format(time.DateOnly))
	} else if now.Before(cert.NotBefore) {
		c.note(a, "%s %s is not valid before %s.", what, describe(cert), cert.NotBefore.Format(time.DateOnly))
	}
}
