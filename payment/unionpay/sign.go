package unionpay

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"im2pay/payment"
)

// canonical returns the string ACP signs: every field except signature,
// sorted by name, joined as k=v with &. Values go in raw (not URL-encoded),
// and a field present with an empty value still counts.
func canonical(f map[string]string) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		if k != "signature" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(f[k])
	}
	return b.String()
}

// digestOfDigest is what signMethod 01 feeds to RSA: ACP signs the
// lowercase hex SHA-256 of the canonical string, not the string itself, so
// RSA-SHA256 hashes that 64-character hex text once more.
func digestOfDigest(f map[string]string) []byte {
	first := sha256.Sum256([]byte(canonical(f)))
	second := sha256.Sum256([]byte(hex.EncodeToString(first[:])))
	return second[:]
}

func sign(key *rsa.PrivateKey, f map[string]string) (string, error) {
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digestOfDigest(f))
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// verify checks a message from UnionPay: signMethod 01, a trusted
// signPubKeyCert, and the signature under its key. Anything else fails
// closed with ErrBadSignature.
func (p *Provider) verify(f map[string]string) error {
	if f["signMethod"] != signMethod {
		return fmt.Errorf("unionpay: signMethod %q: %w", f["signMethod"], payment.ErrBadSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(f["signature"])
	if err != nil || len(sig) == 0 {
		return fmt.Errorf("unionpay: missing or undecodable signature: %w", payment.ErrBadSignature)
	}
	pub, err := p.trustedKey(f["signPubKeyCert"])
	if err != nil {
		return err
	}
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digestOfDigest(f), sig) != nil {
		return fmt.Errorf("unionpay: signature does not verify: %w", payment.ErrBadSignature)
	}
	return nil
}

// trustedKey returns the key of the certificate a message carries, if
// UnionPay's configured root and middle issued it to UnionPay (see chain),
// checked at the provider's clock.
func (p *Provider) trustedKey(certPEM string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("unionpay: no signPubKeyCert: %w", payment.ErrBadSignature)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("unionpay: signPubKeyCert: %v: %w", err, payment.ErrBadSignature)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("unionpay: signPubKeyCert is not RSA: %w", payment.ErrBadSignature)
	}
	if err := p.chain.verify(cert, p.now()); err != nil {
		return nil, fmt.Errorf("unionpay: signPubKeyCert not trusted: %v: %w", err, payment.ErrBadSignature)
	}
	return pub, nil
}

// loadKeys reads the merchant key and certificate (which must match) and
// UnionPay's root and middle certificates (one each).
func (p *Provider) loadKeys() error {
	key, err := LoadPrivateKey(p.cfg.SignKeyFile)
	if err != nil {
		return err
	}
	certs, err := LoadCertificates(p.cfg.SignCertFile)
	if err != nil {
		return err
	}
	if pub, ok := certs[0].PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return fmt.Errorf("unionpay: %s does not certify the key in %s", p.cfg.SignCertFile, p.cfg.SignKeyFile)
	}
	root, err := loadOne(p.cfg.VerifyRootCertFile)
	if err != nil {
		return err
	}
	middle, err := loadOne(p.cfg.VerifyMiddleCertFile)
	if err != nil {
		return err
	}
	owner := p.cfg.VerifyCertOwner
	if owner == "" {
		owner = ProductionOwner
	}
	if p.chain, err = newChain(root, middle, owner); err != nil {
		return fmt.Errorf("unionpay: %s and %s: %w", p.cfg.VerifyRootCertFile, p.cfg.VerifyMiddleCertFile, err)
	}
	p.key, p.certID = key, certs[0].SerialNumber.String()
	return nil
}

// loadOne reads a file that must hold exactly one certificate: a root or
// middle file with two would leave it unclear which one is trusted.
func loadOne(path string) (*x509.Certificate, error) {
	certs, err := LoadCertificates(path)
	if err != nil {
		return nil, err
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("unionpay: %s holds %d certificates, want 1", path, len(certs))
	}
	return certs[0], nil
}

// LoadPrivateKey reads an RSA private key from a PEM file (PKCS#1 or PKCS#8).
func LoadPrivateKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("unionpay: read key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("unionpay: %s holds no PEM block", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("unionpay: %s: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("unionpay: %s is not an RSA key", path)
	}
	return rk, nil
}

// LoadCertificates reads every certificate in a PEM file; there must be one.
func LoadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("unionpay: read certificate: %w", err)
	}
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("unionpay: %s: %w", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("unionpay: %s holds no certificate", path)
	}
	return certs, nil
}

// single turns form values into one value per field. A repeated field is
// refused: the signature covers one value, and we must not read another.
func single(v url.Values) (map[string]string, error) {
	m := make(map[string]string, len(v))
	for k, vs := range v {
		if len(vs) != 1 {
			return nil, fmt.Errorf("unionpay: field %q repeated: %w", k, payment.ErrMalformed)
		}
		m[k] = vs[0]
	}
	return m, nil
}

// parseResponse reads a synchronous ACP answer. Unlike notifications it is
// not URL-encoded: k=v pairs joined by &, where a value may be a {…} group
// that itself contains & and =, and signPubKeyCert is raw PEM.
func parseResponse(body []byte) (map[string]string, error) {
	m := map[string]string{}
	body = bytes.TrimSpace(body)
	for len(body) > 0 {
		eq := bytes.IndexByte(body, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("unionpay: answer field without name: %w", payment.ErrMalformed)
		}
		key := string(body[:eq])
		rest, depth, end := body[eq+1:], 0, -1
		for i, c := range rest {
			if c == '{' {
				depth++
			} else if c == '}' && depth > 0 {
				depth--
			} else if c == '&' && depth == 0 {
				end = i
				break
			}
		}
		val := rest
		if end >= 0 {
			val, body = rest[:end], rest[end+1:]
		} else {
			body = nil
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("unionpay: answer field %q repeated: %w", key, payment.ErrMalformed)
		}
		m[key] = string(val)
	}
	return m, nil
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
