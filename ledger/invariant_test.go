package ledger_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"im2pay/ledger"
)

// TestLedgerInvariantsHoldUnderRandomOperations plays thousands of random
// grants, spends, transfers and replays against a model of every wallet,
// and after each step checks the ledger against the model and its own
// invariants. A refused operation must leave everything as it was.
func TestLedgerInvariantsHoldUnderRandomOperations(t *testing.T) {
	f := newFixture(t)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 42))

	var wallets []int64
	model := map[int64]int64{}
	for i := range 6 {
		u := f.user(fmt.Sprintf("user_%d", i))
		wallets = append(wallets, u.WalletID)
		model[u.WalletID] = 0
	}
	type done struct {
		posting ledger.Posting
		id      int64
	}
	var history []done
	steps := 2000
	if testing.Short() {
		steps = 300
	}
	for step := range steps {
		p := randomPosting(rng, f.grants, wallets, fmt.Sprintf("k%d", step))
		if len(history) > 0 && rng.IntN(10) == 0 {
			p = history[rng.IntN(len(history))].posting // a retry: must change nothing
		}
		posted, err := f.ledger.Post(f.ctx, p)
		want := applyModel(model, p)
		switch {
		case err == nil && posted.Replayed:
			// nothing moves on a replay
		case err == nil:
			commitModel(model, want)
			history = append(history, done{p, posted.TransactionID})
		case errors.Is(err, ledger.ErrInsufficientFunds):
			if want != nil {
				t.Fatalf("step %d: refused %+v although the model affords it", step, p)
			}
		default:
			t.Fatalf("step %d: %v", step, err)
		}
		if err == nil && !posted.Replayed && want == nil {
			t.Fatalf("step %d: accepted %+v, which overdraws in the model", step, p)
		}
		if step%20 == 0 || step == steps-1 {
			checkInvariants(t, f)
			for _, w := range wallets {
				if got := f.balance(w); got != model[w] {
					t.Fatalf("step %d: wallet %d holds %d, model says %d", step, w, got, model[w])
				}
			}
		}
	}
}

func randomPosting(rng *rand.Rand, grants int64, wallets []int64, key string) ledger.Posting {
	amount := rng.Int64N(50_00) + 1
	a := wallets[rng.IntN(len(wallets))]
	b := wallets[rng.IntN(len(wallets))]
	p := ledger.Posting{Key: key, Reference: "random", Description: "test"}
	switch rng.IntN(3) {
	case 0:
		p.Kind = ledger.Grant
		p.Entries = []ledger.Entry{{grants, -amount}, {a, amount}}
	case 1:
		p.Kind = ledger.Purchase
		p.Entries = []ledger.Entry{{a, -amount}, {grants, amount}}
	default:
		p.Kind = ledger.Transfer
		// A three-way split exercises several wallets in one transaction.
		half := amount / 2
		p.Entries = []ledger.Entry{{a, -amount}, {b, amount - half}, {grants, half}}
		if half == 0 {
			p.Entries = []ledger.Entry{{a, -amount}, {b, amount}}
		}
	}
	return p
}

// applyModel returns the wallets' balances after p, or nil if p overdraws.
func applyModel(model map[int64]int64, p ledger.Posting) map[int64]int64 {
	next := map[int64]int64{}
	for _, e := range p.Entries {
		if _, isWallet := model[e.AccountID]; !isWallet {
			continue
		}
		if _, seen := next[e.AccountID]; !seen {
			next[e.AccountID] = model[e.AccountID]
		}
		next[e.AccountID] += e.Amount
		if next[e.AccountID] < 0 {
			return nil
		}
	}
	return next
}

func commitModel(model, next map[int64]int64) {
	for id, b := range next {
		model[id] = b
	}
}
