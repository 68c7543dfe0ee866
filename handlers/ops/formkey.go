package ops

import (
	"crypto/rand"
	"encoding/base64"
)

// formKey is a new one-time key for a form that creates something (an
// adjustment, a batch of codes): the form carries it, and a second post
// with the same key finds what the first made instead of making another.
// 128 random bits, URL-safe base64 (22 characters).
func formKey() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
