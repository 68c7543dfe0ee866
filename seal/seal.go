// Package seal chains the ledger's committed transactions, in id order,
// into a SHA-256 hash chain (the table ledger_seals), and verifies the
// ledger against it: a change to a sealed row, even one made by a
// superuser with the triggers disabled, breaks the chain, and a head hash
// published outside the system catches a rewrite of the chain itself.
//
// The canonical encoding of a transaction, which anyone can recompute
// from the rows (integers big-endian, two's complement; a string is its
// byte length as a 4-byte unsigned big-endian integer, then its UTF-8
// bytes):
//
//	id           8 bytes  ledger_transactions.id
//	kind         string   the txn_kind label, e.g. "topup"
//	reference    string
//	description  string
//	created_at   8 bytes  microseconds since 1970-01-01 00:00:00 UTC
//	entry count  4 bytes  unsigned
//	per entry, in ledger_entries.id order:
//	  account_id 8 bytes
//	  amount     8 bytes  fen, signed
//
// hash_0 is 32 zero bytes; seal n covers the transactions with ids above
// seal n-1's last_transaction_id up to its own, and
// hash_n = SHA-256(hash_{n-1} || enc(t_1) || ... || enc(t_k)) over them in
// id order.
package seal

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"slices"
	"time"
)

// Txn is a ledger transaction as the chain sees it.
type Txn struct {
	ID          int64
	Kind        string
	Reference   string
	Description string
	CreatedAt   time.Time
	Entries     []Entry // in entry id order
}

// Entry is one of a transaction's entries as the chain sees it.
type Entry struct {
	AccountID int64
	Amount    int64
}

// Hash is a SHA-256 value: a link of the chain or a seal's digest.
type Hash [sha256.Size]byte

// AppendCanonical appends t's canonical encoding (see the package doc).
func AppendCanonical(b []byte, t Txn) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.ID))
	return appendBody(b, t.Kind, t.Reference, t.Description, t.CreatedAt, t.Entries)
}

func appendBody(b []byte, kind, ref, desc string, at time.Time, entries []Entry) []byte {
	for _, s := range []string{kind, ref, desc} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(at.UnixMicro()))
	b = binary.BigEndian.AppendUint32(b, uint32(len(entries)))
	for _, e := range entries {
		b = binary.BigEndian.AppendUint64(b, uint64(e.AccountID))
		b = binary.BigEndian.AppendUint64(b, uint64(e.Amount))
	}
	return b
}

// Link is one seal's worth of the chain being computed: Add each covered
// transaction in id order, then Sum.
type Link struct {
	state   hash.Hash
	buf     []byte // one transaction's encoding, reused
	txns    int
	entries int
	digest  Hash
}

// NewLink starts the link that follows prev (32 zero bytes for the first).
func NewLink(prev Hash) *Link {
	l := &Link{state: sha256.New()}
	l.state.Write(prev[:])
	return l
}

// Add hashes t into the link.
func (l *Link) Add(t Txn) {
	l.buf = AppendCanonical(l.buf[:0], t)
	l.state.Write(l.buf)
	l.txns++
	l.entries += len(t.Entries)
	l.digest = add(l.digest, rowDigest(t))
}

// Sum is the link's hash and what it covered: the transactions and
// entries counted and their order-free digest.
func (l *Link) Sum() (sum Hash, txns, entries int, digest Hash) {
	copy(sum[:], l.state.Sum(nil))
	return sum, l.txns, l.entries, l.digest
}

// rowDigest fingerprints t without its id and with its entries sorted:
// the sum of these over a seal does not change when rows are merely
// reordered (ids swapped), which is how verify tells a reordering from a
// change. It is a diagnosis, not the seal: only the chain's hash is.
func rowDigest(t Txn) Hash {
	entries := slices.Clone(t.Entries)
	slices.SortFunc(entries, func(a, b Entry) int {
		if a.AccountID != b.AccountID {
			return cmpInt(a.AccountID, b.AccountID)
		}
		return cmpInt(a.Amount, b.Amount)
	})
	return sha256.Sum256(appendBody(nil, t.Kind, t.Reference, t.Description, t.CreatedAt, entries))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// add is a + b mod 2^256, both big-endian: a multiset sum, unlike XOR not
// cancelled by two equal rows.
func add(a, b Hash) Hash {
	var out Hash
	carry := 0
	for i := len(a) - 1; i >= 0; i-- {
		s := int(a[i]) + int(b[i]) + carry
		out[i], carry = byte(s), s>>8
	}
	return out
}
