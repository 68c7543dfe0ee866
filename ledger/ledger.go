// Package ledger is the one way money moves: every top-up, bonus,
// purchase, gift, per-use charge and grant is a Posting, and Post is the
// only function that writes one. The double entry itself is the
// database's: entries of a transaction must sum to zero (a deferred
// constraint), a wallet's cached balance is kept by a trigger and may not
// go below zero, and the ledger's tables refuse UPDATE and DELETE.
package ledger

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"im2pay/db"
)

// Kind says what moved money; it matches the txn_kind enum.
type Kind string

// Ledger transaction kinds.
const (
	Grant    Kind = "grant"
	Topup    Kind = "topup"
	Bonus    Kind = "bonus"
	Purchase Kind = "purchase"
	Gift     Kind = "gift"
	Charge   Kind = "charge"
	Refund   Kind = "refund"
	Transfer Kind = "transfer"
	Reversal Kind = "reversal"
	// Adjustment is a correction by support staff (package adjust).
	Adjustment Kind = "adjustment"
	// Redeem is a redemption code credited (package redeem).
	Redeem Kind = "redeem"
)

// Kinds lists every kind, in the order filters show them.
var Kinds = []Kind{Topup, Bonus, Grant, Purchase, Gift, Charge, Refund, Transfer, Reversal, Adjustment, Redeem}

// The ledger's refusals. They are the store's, so that a constraint the
// database enforces (db.MapError) and a check made here read the same.
var (
	ErrInsufficientFunds   = db.ErrInsufficientFunds
	ErrIdempotencyMismatch = db.ErrIdempotencyMismatch
	ErrUnbalanced          = db.ErrUnbalanced
	ErrNotFound            = db.ErrNotFound
	ErrDuplicate           = db.ErrDuplicate
)

// maxEntryAmount keeps any sum of a transaction's entries far from int64
// overflow (10^15 fen is ten trillion yuan).
const maxEntryAmount = 1_000_000_000_000_000

// Entry moves Amount fen (signed, non-zero) into or out of an account.
type Entry struct {
	AccountID int64
	Amount    int64
}

// Posting is one ledger transaction: entries that sum to zero, under a key
// that makes retries safe.
type Posting struct {
	Key         string
	Kind        Kind
	Reference   string // what caused it, e.g. "user:42" or "order:2026..."
	Description string // a locale catalog code naming the movement, e.g. "welcome_grant"
	Entries     []Entry
}

// Posted is the outcome of a posting; for a replayed key it is the first
// outcome, unchanged.
type Posted struct {
	TransactionID int64
	Replayed      bool
	// Balances holds each wallet's balance after the transaction (system
	// accounts keep no cached balance and are absent).
	Balances map[int64]int64
	// Before is the payer's balance before the posting, when Post was told
	// to cover a payer (see Covered); also set on ErrInsufficientFunds.
	Before int64
}

func (p Posting) validate() error {
	if p.Key == "" || len(p.Key) > 200 {
		return fmt.Errorf("posting: idempotency key must be 1-200 bytes")
	}
	if !slices.Contains(Kinds, p.Kind) {
		return fmt.Errorf("posting: unknown kind %q", p.Kind)
	}
	if len(p.Entries) < 2 {
		return fmt.Errorf("%w: posting %q has %d entries, needs at least 2", ErrUnbalanced, p.Key, len(p.Entries))
	}
	var sum int64
	for _, e := range p.Entries {
		if e.Amount == 0 || e.Amount > maxEntryAmount || e.Amount < -maxEntryAmount {
			return fmt.Errorf("posting %q: entry amount %d out of range", p.Key, e.Amount)
		}
		sum += e.Amount
	}
	if sum != 0 {
		return fmt.Errorf("%w: posting %q sums to %d", ErrUnbalanced, p.Key, sum)
	}
	return nil
}

// requestHash fingerprints everything that makes a posting what it is, so a
// key reused for another request is detected rather than silently replayed.
func (p Posting) requestHash() []byte {
	h := sha256.New()
	for _, s := range []string{string(p.Kind), p.Reference, p.Description} {
		binary.Write(h, binary.BigEndian, int64(len(s)))
		h.Write([]byte(s))
	}
	entries := slices.Clone(p.Entries)
	slices.SortFunc(entries, func(a, b Entry) int {
		if c := cmp.Compare(a.AccountID, b.AccountID); c != 0 {
			return c
		}
		return cmp.Compare(a.Amount, b.Amount)
	})
	for _, e := range entries {
		binary.Write(h, binary.BigEndian, e.AccountID)
		binary.Write(h, binary.BigEndian, e.Amount)
	}
	return h.Sum(nil)
}

// columns splits the entries into the two arrays the query takes.
func (p Posting) columns() (ids, amounts []int64) {
	ids = make([]int64, 0, len(p.Entries))
	amounts = make([]int64, 0, len(p.Entries))
	for _, e := range p.Entries {
		ids = append(ids, e.AccountID)
		amounts = append(amounts, e.Amount)
	}
	return ids, amounts
}
