// Package redeem is redemption codes (兑换码): batches of random codes,
// each worth a batch's amount, credited to the person who redeems one
// exactly once by a ledger transaction from the batch's own system
// account. Codes are stored only as their SHA-256; the codes themselves
// exist once, in CreateBatch's answer.
//
// Problem codes (keys of views/i18n/catalog_money.go), all on field "code":
// redeem.empty, redeem.unknown, redeem.used, redeem.expired, redeem.voided,
// redeem.limit, redeem.throttled (minutes to wait, int, %d). A batch's:
// redeem.batch.* on the form's fields (see CreateBatch).
package redeem

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"strings"
)

// alphabet is Crockford's base32: no I, L, O or U, so a code read aloud or
// copied by hand is not mistaken for another.
const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// codeLen characters of 5 bits each: 80 random bits, beyond guessing even
// without the throttles (2^80 codes for at most a few thousand valid ones).
const codeLen = 16

// newCode returns a fresh random code in canonical form (16 characters,
// no dashes).
func newCode() (string, error) {
	var b [10]byte // 80 bits
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random code: %w", err)
	}
	var sb strings.Builder
	var acc uint64
	bits := 0
	for _, c := range b {
		acc, bits = acc<<8|uint64(c), bits+8
		for bits >= 5 {
			bits -= 5
			sb.WriteByte(alphabet[(acc>>bits)&31])
		}
	}
	return sb.String(), nil
}

// Format groups a canonical code for reading: XXXX-XXXX-XXXX-XXXX.
func Format(code string) string {
	if len(code) != codeLen {
		return code
	}
	return code[0:4] + "-" + code[4:8] + "-" + code[8:12] + "-" + code[12:16]
}

// Canonical is a code as a person typed it, in the form it was hashed in:
// upper case, without dashes and spaces, with Crockford's readings of the
// letters it leaves out (I and L are 1, O is 0). ok is false when it
// cannot be a code; the caller still looks it up (see Service.Redeem), so
// a malformed code costs what an unknown one does.
func Canonical(typed string) (code string, ok bool) {
	var sb strings.Builder
	ok = true
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r == 'I' || r == 'L':
			r = '1'
		case r == 'O':
			r = '0'
		}
		if r > 127 || !strings.ContainsRune(alphabet, r) {
			ok = false
		}
		if sb.Len() < 64 { // a hostile length costs nothing
			sb.WriteRune(r)
		}
	}
	code = sb.String()
	return code, ok && len(code) == codeLen
}

// hash is what the database keeps of a canonical code.
func hash(code string) []byte {
	h := sha256.Sum256([]byte(code))
	return h[:]
}
