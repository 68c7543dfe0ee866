// Package sandboxmark marks the keys and secrets the sandbox generates, so
// that production can recognise them wherever they were copied to.
//
// Why a mark in the material itself, and not elsewhere: a flag in
// payment.json is lost when someone writes a fresh payment.json around
// copied key files; a path check (files under DATA_DIR/sandbox) is lost by
// one cp; a certificate subject exists only for certificates and is easily
// reissued. A mark in the RSA modulus travels with every copy and every
// re-encoding (PKCS#1 or PKCS#8, PEM or DER, inside a .pfx) and is carried
// by the public half too, so it is seen from either side of a key pair. The
// only way around it is a freshly generated key, which is exactly what going
// live needs. Secrets (the PayPal client secret, the WeChat APIv3 key) carry
// a tag derived from the rest of the string.
package sandboxmark

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// keyBits is the size of every sandbox key: the one the providers require.
const keyBits = 2048

// modulusMark is the top 64 bits of every sandbox modulus: 0xFF then
// "SANDBOX". A key generated any other way has them with probability 2^-62
// (its top two bits are set by construction, the rest are random).
const modulusMark = 0xFF53414E44424F58

const markBits = 64

// Key generates a 2048-bit RSA key whose modulus starts with the mark. It
// picks p near 2^1024 and q as the next prime above target/p, where target
// is the mark followed by random bits; the product differs from target only
// far below the top 64 bits, so the mark survives. p and q still differ by
// about 2^1014, far beyond what Fermat's method could exploit.
func Key() (*rsa.PrivateKey, error) {
	e := big.NewInt(65537)
	one := big.NewInt(1)
	for range 100 {
		// 9 top bits set keep q below 2^1024, so both primes have 1024 bits.
		p, err := primeWithTopBits(keyBits/2, 9)
		if err != nil {
			return nil, err
		}
		target, err := rand.Int(rand.Reader, new(big.Int).Lsh(one, keyBits-markBits))
		if err != nil {
			return nil, fmt.Errorf("sandboxmark: %w", err)
		}
		target.Or(target, new(big.Int).Lsh(new(big.Int).SetUint64(modulusMark), keyBits-markBits))
		q := nextPrime(new(big.Int).Div(target, p))
		n := new(big.Int).Mul(p, q)
		pm1, qm1 := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
		phi := new(big.Int).Mul(pm1, qm1)
		d := new(big.Int).ModInverse(e, phi)
		if d == nil || q.BitLen() != keyBits/2 || n.BitLen() != keyBits || !marked(n) {
			continue // e shares a factor with p-1 or q-1, or the mark slipped: draw again
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: int(e.Int64())}, D: d, Primes: []*big.Int{p, q}}
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("sandboxmark: generated key does not validate: %w", err)
		}
		k.Precompute()
		return k, nil
	}
	return nil, errors.New("sandboxmark: no key after 100 draws")
}

// IsKey says whether pub is a key the sandbox generated.
func IsKey(pub *rsa.PublicKey) bool { return pub != nil && pub.N != nil && marked(pub.N) }

func marked(n *big.Int) bool {
	if n.BitLen() <= markBits {
		return false
	}
	top := new(big.Int).Rsh(n, uint(n.BitLen()-markBits))
	return top.IsUint64() && top.Uint64() == modulusMark
}

func primeWithTopBits(bits, top int) (*big.Int, error) {
	b := make([]byte, bits/8)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("sandboxmark: %w", err)
	}
	c := new(big.Int).SetBytes(b)
	for i := bits - top; i < bits; i++ {
		c.SetBit(c, i, 1)
	}
	p := nextPrime(c)
	if p.BitLen() != bits {
		return primeWithTopBits(bits, top) // ran past 2^bits: astronomically rare
	}
	return p, nil
}

// nextPrime is the smallest probable prime >= n.
func nextPrime(n *big.Int) *big.Int {
	p := new(big.Int).SetBit(n, 0, 1)
	two := big.NewInt(2)
	for !p.ProbablyPrime(20) {
		p.Add(p, two)
	}
	return p
}

// tagAlphabet is in every alphabet the sandbox draws secrets from.
const tagAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

const tagLen = 8

// Secret returns n random characters from alphabet whose last eight are a
// tag derived from the others (36^8 ≈ 2.8e12 values, so a real secret is
// tagged by chance about once in three trillion). The tag is digits and
// lower-case letters, so alphabet should hold those too, or the tag would
// look unlike the rest of the secret.
func Secret(alphabet string, n int) (string, error) {
	if n <= tagLen*2 {
		return "", fmt.Errorf("sandboxmark: a secret of %d characters is too short to tag", n)
	}
	body := make([]byte, n-tagLen)
	max := big.NewInt(int64(len(alphabet)))
	for i := range body {
		j, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("sandboxmark: %w", err)
		}
		body[i] = alphabet[j.Int64()]
	}
	return string(body) + tag(string(body)), nil
}

// IsSecret says whether s (surrounding whitespace ignored) is a secret the
// sandbox generated.
func IsSecret(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) <= tagLen*2 {
		return false
	}
	return s[len(s)-tagLen:] == tag(s[:len(s)-tagLen])
}

func tag(body string) string {
	sum := sha256.Sum256([]byte("im2pay sandbox secret\x00" + body))
	v := new(big.Int).SetBytes(sum[:])
	out := make([]byte, tagLen)
	base := big.NewInt(int64(len(tagAlphabet)))
	m := new(big.Int)
	for i := range out {
		v.DivMod(v, base, m)
		out[i] = tagAlphabet[m.Int64()]
	}
	return string(out)
}
