package ledger_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"im2pay/ledger"
)

// debitNow is a covered payment in a query of its own, as every
// purchase, gift and charge makes one.
func (f *fixture) debitNow(key string, from, to, amount int64) (ledger.Posted, int64, error) {
	posted, err := f.ledger.Post(f.ctx, ledger.Posting{Key: key, Kind: ledger.Transfer, Reference: "test", Description: "test",
		Entries: []ledger.Entry{{AccountID: from, Amount: -amount}, {AccountID: to, Amount: amount}}}, ledger.Covered(from, amount))
	return posted, posted.Before, err
}

func TestDebitNowMovesMoneyOnceAndWritesNothingWhenShort(t *testing.T) {
	f := newFixture(t)
	alice, bob := f.user("alice"), f.user("bob")
	if _, err := f.grant("g", alice.WalletID, 100); err != nil {
		t.Fatal(err)
	}
	posted, before, err := f.debitNow("d1", alice.WalletID, bob.WalletID, 20)
	if err != nil || before != 100 || posted.Balances[alice.WalletID] != 80 || posted.Balances[bob.WalletID] != 20 {
		t.Fatalf("first debit: %+v, balance before %d, %v; want 80 and 20 after, 100 before", posted, before, err)
	}
	again, _, err := f.debitNow("d1", alice.WalletID, bob.WalletID, 20)
	if err != nil || !again.Replayed || again.TransactionID != posted.TransactionID || again.Balances[alice.WalletID] != 80 {
		t.Fatalf("same key again: %+v, %v; want the first result replayed", again, err)
	}
	if _, _, err := f.debitNow("d1", alice.WalletID, bob.WalletID, 30); !errors.Is(err, ledger.ErrIdempotencyMismatch) {
		t.Fatalf("same key, other amount: %v, want ErrIdempotencyMismatch", err)
	}
	if _, before, err := f.debitNow("d2", alice.WalletID, bob.WalletID, 81); !errors.Is(err, ledger.ErrInsufficientFunds) || before != 80 {
		t.Fatalf("overdraft: balance before %d, %v; want 80 and ErrInsufficientFunds", before, err)
	}
	// The refused key wrote nothing, so it is still free.
	if _, _, err := f.debitNow("d2", alice.WalletID, bob.WalletID, 80); err != nil {
		t.Fatalf("the refused key for the whole balance: %v", err)
	}
	if a, b := f.balance(alice.WalletID), f.balance(bob.WalletID); a != 0 || b != 100 {
		t.Fatalf("balances %d and %d, want 0 and 100", a, b)
	}
	checkInvariants(t, f)
}

// Payments crossing each other lock their payers first and can deadlock;
// a query of its own is retried, and the many racing for too little money never
// overdraw.
func TestDebitNowUnderContention(t *testing.T) {
	f := newFixture(t)
	alice, bob := f.user("alice"), f.user("bob")
	for _, w := range []int64{alice.WalletID, bob.WalletID} {
		if _, err := f.grant(fmt.Sprint("g", w), w, 100); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var ok, short atomic.Int64
	errs := make(chan error, 200)
	for i := range 100 {
		from, to := alice.WalletID, bob.WalletID
		if i%2 == 1 {
			from, to = to, from
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := f.debitNow(fmt.Sprint("x", i), from, to, 7)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ledger.ErrInsufficientFunds):
				short.Add(1)
			default:
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("debit: %v", err)
	}
	if a, b := f.balance(alice.WalletID), f.balance(bob.WalletID); a+b != 200 || a < 0 || b < 0 {
		t.Fatalf("balances %d and %d, want a total of 200", a, b)
	}
	if ok.Load()+short.Load() != 100 || ok.Load() == 0 {
		t.Fatalf("%d debits went through and %d were short, of 100", ok.Load(), short.Load())
	}
	checkInvariants(t, f)
}

// BenchmarkDebitNow is figure 1 of make bench in-process, for profiles:
// go test -run XXX -bench DebitNow -cpuprofile cpu.out ./ledger
func BenchmarkDebitNow(b *testing.B) {
	f := newFixture(b)
	const workers = 8
	var from, to [workers]int64
	for w := range workers {
		from[w], to[w] = f.user(fmt.Sprint("from", w)).WalletID, f.user(fmt.Sprint("to", w)).WalletID
		if _, err := f.grant(fmt.Sprint("g", w), from[w], 1<<40); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.SetParallelism((workers + 1) / 2) // GOMAXPROCS is 2 here
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := int(next.Add(1)-1) % workers
		for i := 0; pb.Next(); i++ {
			if _, _, err := f.debitNow(fmt.Sprintf("b%d:%d", w, i), from[w], to[w], 1); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
