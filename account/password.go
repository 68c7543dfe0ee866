package account

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// PasswordHasher hashes and checks passwords with argon2id. The parameters
// are fields rather than constants so that tests can use cheap ones and so
// that raising them later only needs a new value: hashes record their own
// parameters, old ones keep verifying, and NeedsRehash says when to upgrade.
// The zero value is unusable (Hash refuses it); use DefaultPasswordHasher.
type PasswordHasher struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory cost in KiB
	Threads   uint8  // parallelism
	KeyLen    uint32 // bytes of derived key stored
}

// Bounds on parameters, applied both to our own settings and to every stored
// hash we parse. A hash string is data: a corrupted or hostile one must not
// make Verify allocate gigabytes, spin for minutes or panic inside argon2.
const (
	maxArgonMemoryKiB = 1 << 20 // 1 GiB
	maxArgonTime      = 16
	minArgonBytes     = 8 // salt and key length
	maxArgonBytes     = 128
	saltLen           = 16
	maxEncodedHash    = 512 // far above any hash within the bounds above
)

// errMalformedHash marks a stored hash we cannot read; Verify wraps it.
var errMalformedHash = errors.New("account: malformed password hash")

// DefaultPasswordHasher returns the OWASP Password Storage Cheat Sheet's
// minimum argon2id configuration (m=19 MiB, t=2, p=1) with a 32-byte key.
// It costs tens of milliseconds per login on a server core, which is
// unnoticeable to a person yet makes offline guessing of a leaked database
// slow and memory-bound, and it keeps peak memory modest enough that a burst
// of concurrent logins cannot exhaust the host.
func DefaultPasswordHasher() PasswordHasher {
	return PasswordHasher{Time: 2, MemoryKiB: 19456, Threads: 1, KeyLen: 32}
}

// validate checks the parameters against the bounds; argon2 itself panics on
// zero time or threads.
func (h PasswordHasher) validate() error {
	switch {
	case h.Time < 1 || h.Time > maxArgonTime:
		return fmt.Errorf("time %d outside 1..%d", h.Time, maxArgonTime)
	case h.Threads < 1:
		return errors.New("threads must be at least 1")
	case h.MemoryKiB < 8*uint32(h.Threads) || h.MemoryKiB > maxArgonMemoryKiB:
		// RFC 9106 requires at least 8 KiB per lane.
		return fmt.Errorf("memory %d KiB outside %d..%d", h.MemoryKiB, 8*uint32(h.Threads), maxArgonMemoryKiB)
	case h.KeyLen < minArgonBytes || h.KeyLen > maxArgonBytes:
		return fmt.Errorf("key length %d outside %d..%d", h.KeyLen, minArgonBytes, maxArgonBytes)
	}
	return nil
}

// key derives the argon2id key. Passwords are NFC-normalised first so that
// the same password typed on keyboards that compose accents differently
// ("é" as one code point or as "e" plus a combining accent) still matches.
func (h PasswordHasher) key(password string, salt []byte) []byte {
	return argon2.IDKey([]byte(norm.NFC.String(password)), salt, h.Time, h.MemoryKiB, h.Threads, h.KeyLen)
}

// Hash returns a PHC-format string
// "$argon2id$v=19$m=<KiB>,t=<time>,p=<threads>$<salt>$<key>" (unpadded
// standard base64), the form other argon2 libraries read, so the stored
// hashes do not tie us to this code. Every hash gets a fresh 16-byte salt.
func (h PasswordHasher) Hash(password string) (string, error) {
	if err := h.validate(); err != nil {
		return "", fmt.Errorf("account: password hasher: %w", err)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("account: password salt: %w", err)
	}
	return h.encode(salt, h.key(password, salt)), nil
}

func (h PasswordHasher) encode(salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.MemoryKiB, h.Time, h.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Verify reports whether password matches the stored hash. It reads the
// parameters from the hash itself, so hashes made under older settings keep
// working. A wrong password is (false, nil); err is only for a hash that
// cannot be read, which means corrupted data, not a person's mistake.
func (h PasswordHasher) Verify(encoded, password string) (ok bool, err error) {
	params, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := params.key(password, salt)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash reports whether a stored hash was made with parameters other
// than h's, so that a successful login can upgrade it transparently.
// Unreadable hashes need one too.
func (h PasswordHasher) NeedsRehash(encoded string) bool {
	params, salt, _, err := decodeHash(encoded)
	return err != nil || params != h || len(salt) != saltLen
}

// dummySalt is the salt DummyVerify derives with; its value is irrelevant.
var dummySalt = make([]byte, saltLen)

// DummyVerify spends the same time as a real Verify, so an unknown username
// takes as long as a wrong password (prevents user enumeration by timing).
// It goes through the same parse, normalise, derive and compare steps as
// Verify, against a hash that nothing can match.
func (h PasswordHasher) DummyVerify(password string) {
	if h.validate() != nil {
		// Still spend real time: stored hashes may verify even when h is off.
		h = DefaultPasswordHasher()
	}
	_, _ = h.Verify(h.encode(dummySalt, make([]byte, h.KeyLen)), password)
}

// decodeHash parses and bounds-checks a PHC argon2id string. It reads no
// further than maxEncodedHash bytes and decodes base64 only after checking
// its length, so hostile input can neither panic nor allocate much.
func decodeHash(encoded string) (PasswordHasher, []byte, []byte, error) {
	var h PasswordHasher
	bad := func(why string) (PasswordHasher, []byte, []byte, error) {
		return PasswordHasher{}, nil, nil, fmt.Errorf("%w: %s", errMalformedHash, why)
	}
	if len(encoded) > maxEncodedHash {
		return bad("too long")
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("not a PHC string")
	}
	if parts[1] != "argon2id" {
		return bad("algorithm is not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version")
	}
	ps := strings.Split(parts[3], ",")
	if len(ps) != 3 {
		return bad("want parameters m,t,p")
	}
	m, err1 := phcUint(ps[0], "m=", 32)
	t, err2 := phcUint(ps[1], "t=", 32)
	p, err3 := phcUint(ps[2], "p=", 8)
	if err := errors.Join(err1, err2, err3); err != nil {
		return bad(err.Error())
	}
	h.MemoryKiB, h.Time, h.Threads = uint32(m), uint32(t), uint8(p)
	salt, err := decodeB64(parts[4])
	if err != nil {
		return bad("salt: " + err.Error())
	}
	key, err := decodeB64(parts[5])
	if err != nil {
		return bad("key: " + err.Error())
	}
	h.KeyLen = uint32(len(key))
	if err := h.validate(); err != nil {
		return bad(err.Error())
	}
	return h, salt, key, nil
}

// phcUint reads one "name=decimal" parameter, refusing signs, spaces and
// values that do not fit in bits.
func phcUint(s, prefix string, bits int) (uint64, error) {
	v, ok := strings.CutPrefix(s, prefix)
	if !ok || !allDigits(v) {
		return 0, fmt.Errorf("want %s<digits>", prefix)
	}
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("%s out of range", prefix)
	}
	return n, nil
}

// decodeB64 decodes an unpadded base64 field of minArgonBytes..maxArgonBytes.
// Strict decoding refuses stray bits, so each value has exactly one encoding.
func decodeB64(s string) ([]byte, error) {
	b64 := base64.RawStdEncoding.Strict()
	if len(s) < b64.EncodedLen(minArgonBytes) || len(s) > b64.EncodedLen(maxArgonBytes) {
		return nil, errors.New("length out of range")
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, errors.New("not base64")
	}
	if len(b) < minArgonBytes || len(b) > maxArgonBytes {
		return nil, errors.New("length out of range")
	}
	return b, nil
}

// allDigits reports whether s is one or more ASCII digits, the only form a
// PHC parameter takes.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
