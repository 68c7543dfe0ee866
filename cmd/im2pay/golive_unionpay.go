package main

import (
	"crypto/rsa"
	"crypto/x509"
	"slices"
	"strings"
	"time"

	"im2pay/payment/unionpay"
)

// unionpay checks the card section. It reads the certificate fields by name
// pattern as well as through unionpay.Config, so a trust-anchor file added
// beside verify_cert_file (a separate middle certificate) is checked too
// without this file changing with the provider's package.
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
	var anchors []*x509.Certificate
	for _, field := range c.anchorFields(cfg) {
		path, _ := c.sections[a][field].(string)
		anchors = append(anchors, c.certificates(a, field, path)...)
	}
	c.chain(a, anchors)
	name := cfg.VerifyCertCN
	if parts := strings.Split(name, "@"); len(parts) >= 3 {
		name = parts[2] // the SDKs compare the third @-field of the CN
	}
	if name != "" && name != unionpay.ProductionCN {
		c.note(a, "verify_cert_cn expects UnionPay to sign as %q, but UnionPay signs as %s.", cfg.VerifyCertCN, unionpay.ProductionCN)
	}
}

// anchorFields are verify_cert_file and any other certificate file the
// section names, except our own signing certificate.
func (c *checklist) anchorFields(cfg unionpay.Config) []string {
	fields := []string{"verify_cert_file"}
	for k, v := range c.sections["card"] {
		if s, ok := v.(string); ok && s != "" && strings.HasSuffix(k, "_file") && strings.Contains(k, "cert") &&
			k != "sign_cert_file" && k != "verify_cert_file" {
			fields = append(fields, k)
		}
	}
	slices.Sort(fields[1:])
	return fields
}

// chain checks UnionPay's trust anchors link by link with the parent's key
// (CheckSignature, not x509.Verify: CFCA's real root and middle are signed
// with SHA-1, which Verify refuses since Go 1.24). Production ships a root
// and a middle certificate (CFCA CS CA → CFCA OCA1).
func (c *checklist) chain(a string, certs []*x509.Certificate) {
	if len(certs) == 0 {
		return
	}
	roots, middles := 0, 0
	for _, cert := range certs {
		c.validNow(a, "UnionPay's certificate", cert)
		if strings.Contains(strings.ToUpper(cert.Subject.String()), "CFCA TEST") {
			c.note(a, "the certificate %s is UnionPay's test chain, not production.", describe(cert))
		}
		if !cert.IsCA {
			c.note(a, "the certificate %s is not a CA certificate; configure UnionPay's root and middle certificates.", describe(cert))
			continue
		}
		parent := issuerOf(cert, certs)
		switch {
		case parent == cert:
			roots++
		case parent == nil:
			c.note(a, "the certificate %s is issued by %q, which is not configured.", describe(cert), cert.Issuer.String())
		case parent.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature) != nil:
			c.note(a, "the certificate %s does not carry a valid signature of %s.", describe(cert), describe(parent))
		case !parent.IsCA:
			c.note(a, "the certificate %s is issued by %s, which is not a CA.", describe(cert), describe(parent))
		default:
			middles++
		}
	}
	if roots == 0 {
		c.note(a, "no root certificate is configured: UnionPay's chain starts at CFCA's root.")
	}
	if middles == 0 {
		c.note(a, "no middle certificate is configured: UnionPay signs with a certificate issued by CFCA's middle certificate (OCA1), so add it beside the root.")
	}
}

// issuerOf finds cert's issuer among certs by name; a self-signed
// certificate is its own issuer only if its own key signed it.
func issuerOf(cert *x509.Certificate, certs []*x509.Certificate) *x509.Certificate {
	for _, p := range certs {
		if !slices.Equal(p.RawSubject, cert.RawIssuer) {
			continue
		}
		if p == cert && cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature) != nil {
			continue
		}
		return p
	}
	return nil
}

func (c *checklist) validNow(a, what string, cert *x509.Certificate) {
	now := time.Now()
	if now.After(cert.NotAfter) {
		c.note(a, "%s %s expired on %s.", what, describe(cert), cert.NotAfter.Format(time.DateOnly))
	} else if now.Before(cert.NotBefore) {
		c.note(a, "%s %s is not valid before %s.", what, describe(cert), cert.NotBefore.Format(time.DateOnly))
	}
}
