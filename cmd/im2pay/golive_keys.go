package main

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"im2pay/payment/sandbox/sandboxmark"
)

// requiredBits is the RSA size every provider here issues and expects:
// Alipay RSA2, WeChat Pay APIv3 and UnionPay ACP 5.1.0 keys are 2048 bits.
const requiredBits = 2048

// sandboxFiles recognises files the sandbox wrote. The mark inside keys and
// secrets (package sandboxmark) is the main test and survives any copy; the
// path and the byte-for-byte comparison with what lies under the sandbox's
// directory also catch keys provisioned before the mark existed.
type sandboxFiles struct {
	dir    string
	hashes map[[32]byte]bool // nil until first needed
}

func newSandboxFiles(dir string) *sandboxFiles { return &sandboxFiles{dir: dir} }

// holds says whether path lies under the sandbox's directory or has the
// same content as a file there.
func (s *sandboxFiles) holds(path string, content []byte) bool {
	if abs, err := filepath.Abs(path); err == nil {
		if dir, err := filepath.Abs(s.dir); err == nil {
			if rel, err := filepath.Rel(dir, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return true
			}
		}
	}
	if s.hashes == nil {
		s.hashes = map[[32]byte]bool{}
		_ = filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil // an unreadable or absent sandbox has nothing to compare with
			}
			if info, err := d.Info(); err == nil && info.Size() < 1<<20 {
				if b, err := os.ReadFile(p); err == nil {
					s.hashes[sha256.Sum256(bytes.TrimSpace(b))] = true
				}
			}
			return nil
		})
	}
	return s.hashes[sha256.Sum256(bytes.TrimSpace(content))]
}

// readFile reads a configured file, recording a finding when it cannot.
func (c *checklist) readFile(area, field, path string) ([]byte, bool) {
	if strings.TrimSpace(path) == "" {
		c.refuse(area, "%s is not set.", field)
		return nil, false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		c.refuse(area, "%s %s cannot be read: %v.", field, path, err)
		return nil, false
	}
	return b, true
}

// privateKey checks an RSA private key file: PEM, the right encoding, 2048
// bits, not the sandbox's. pkcs8Only is for WeChat, whose SDK reads
// apiclient_key.pem as PKCS#8 ("BEGIN PRIVATE KEY") only.
func (c *checklist) privateKey(area, field, path string, pkcs8Only bool) *rsa.PrivateKey {
	b, ok := c.readFile(area, field, path)
	if !ok {
		return nil
	}
	block, _ := pem.Decode(b)
	if block == nil {
		c.note(area, "%s %s is not a PEM file (it should start with -----BEGIN PRIVATE KEY-----).", field, path)
		return nil
	}
	var key any
	var err error
	switch {
	case block.Type == "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case block.Type == "RSA PRIVATE KEY" && !pkcs8Only:
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		c.note(area, "%s %s holds a %q block; a PKCS#8 \"PRIVATE KEY\" is expected.", field, path, block.Type)
		return nil
	}
	rk, isRSA := key.(*rsa.PrivateKey)
	if err != nil || !isRSA {
		c.note(area, "%s %s is not an RSA private key.", field, path)
		return nil
	}
	c.keySize(area, field, path, &rk.PublicKey)
	if sandboxmark.IsKey(&rk.PublicKey) || c.sandbox.holds(path, b) {
		c.refuse(area, "%s %s is the sandbox's generated key: generate your own and register it with the provider.", field, path)
	}
	return rk
}

// publicKey checks a provider's RSA public key (PEM "PUBLIC KEY").
func (c *checklist) publicKey(area, field, path string) *rsa.PublicKey {
	b, ok := c.readFile(area, field, path)
	if !ok {
		return nil
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" {
		c.note(area, "%s %s is not a PEM public key (-----BEGIN PUBLIC KEY-----).", field, path)
		return nil
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	pub, isRSA := key.(*rsa.PublicKey)
	if err != nil || !isRSA {
		c.note(area, "%s %s is not an RSA public key.", field, path)
		return nil
	}
	c.keySize(area, field, path, pub)
	if sandboxmark.IsKey(pub) || c.sandbox.holds(path, b) {
		c.refuse(area, "%s %s is the sandbox's generated key, not the provider's: download the provider's public key.", field, path)
	}
	return pub
}

func (c *checklist) keySize(area, field, path string, pub *rsa.PublicKey) {
	if n := pub.N.BitLen(); n != requiredBits {
		c.note(area, "%s %s is a %d-bit RSA key; the provider requires %d bits.", field, path, n, requiredBits)
	}
}

// secret checks a file holding one secret line.
func (c *checklist) secret(area, field, path string) string {
	b, ok := c.readFile(area, field, path)
	if !ok {
		return ""
	}
	s := strings.TrimSpace(string(b))
	if sandboxmark.IsSecret(s) || c.sandbox.holds(path, b) {
		c.refuse(area, "%s %s is the sandbox's generated secret: use the one the provider gave you.", field, path)
	}
	return s
}

// certificates reads every certificate in a PEM file.
func (c *checklist) certificates(area, field, path string) []*x509.Certificate {
	b, ok := c.readFile(area, field, path)
	if !ok {
		return nil
	}
	var certs []*x509.Certificate
	for rest := b; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			c.note(area, "%s %s holds a certificate that cannot be parsed: %v.", field, path, err)
			continue
		}
		certs = append(certs, cert)
		if sandboxCert(cert) || c.sandbox.holds(path, b) {
			c.refuse(area, "%s %s is the sandbox's certificate %q: use the one the provider issued.", field, path, cert.Subject.CommonName)
			return certs
		}
	}
	if len(certs) == 0 {
		c.note(area, "%s %s holds no PEM certificate.", field, path)
	}
	return certs
}

// sandboxCert recognises the sandbox's certificates by their key's mark or
// by a name that says sandbox (the UnionPay sandbox names every certificate
// it issues so, and real CAs never do).
func sandboxCert(cert *x509.Certificate) bool {
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); ok && sandboxmark.IsKey(pub) {
		return true
	}
	names := strings.ToLower(cert.Subject.String() + " " + cert.Issuer.String())
	return strings.Contains(names, "sandbox") || strings.Contains(names, "沙箱")
}

// describe names a certificate for an operator.
func describe(cert *x509.Certificate) string {
	if cert.Subject.CommonName != "" {
		return fmt.Sprintf("%q", cert.Subject.CommonName)
	}
	return fmt.Sprintf("%q", cert.Subject.String())
}
