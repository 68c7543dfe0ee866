package redeem_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"im2pay/audit"
	"im2pay/redeem"
	"im2pay/wallet"
)

// newKey is a request key as the console's form makes one.
func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// request is a valid batch of count codes of 2.50 by staff, under key.
func (f *fixture) request(staff int64, key, count string) redeem.BatchRequest {
	return redeem.BatchRequest{Amount: "2.50", Count: count, PerPerson: "1",
		Expires: f.clock().AddDate(0, 0, 3).Format("2006-01-02"), StaffID: staff, Key: key}
}

func (f *fixture) create(r redeem.BatchRequest) (redeem.Created, error) {
	return f.svc.CreateBatch(f.ctx, r, time.UTC, audit.Entry{StaffID: r.StaffID, StaffName: "op", ClientIP: "10.0.0.1"})
}

// count runs a count(*) query.
func (f *fixture) count(q string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.store.DB().GetContext(f.ctx, &n, q, args...); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// made is how many batches, batch accounts, codes and creation audit
// lines exist.
func (f *fixture) made() (batches, accounts, codes, logs int) {
	return f.count(`SELECT count(*) FROM redeem_batches`),
		f.count(`SELECT count(*) FROM accounts WHERE kind = 'system' AND code LIKE 'redeem:batch:%'`),
		f.count(`SELECT count(*) FROM redeem_codes`),
		f.count(`SELECT count(*) FROM audit_log WHERE action = 'redeem.batch_create'`)
}

func TestTheSameRequestKeyTwiceMakesOneBatchWhoseCodesAreGivenOnce(t *testing.T) {
	f := newFixture(t, unlimited)
	key := newKey(t)
	first, err := f.create(f.request(f.staff, key, "4"))
	if err != nil || len(first.Codes) != 4 {
		t.Fatalf("first post: %d codes, %v", len(first.Codes), err)
	}
	// The form posted again, even altered (a bigger batch) and after its
	// expiry date passed: the first batch, no codes, nothing made.
	again := f.request(f.staff, key, "400")
	again.Amount = "999"
	f.advance(5 * 24 * time.Hour)
	second, err := f.create(again)
	if !errors.Is(err, redeem.ErrRepeated) {
		t.Fatalf("second post: %v, want ErrRepeated", err)
	}
	if second.Batch.ID != first.Batch.ID || second.Codes != nil || second.Batch.Amount != 2_50 || second.Batch.Count != 4 {
		t.Fatalf("second post answered %+v, want batch %d without codes", second, first.Batch.ID)
	}
	if b, a, c, l := f.made(); b != 1 || a != 1 || c != 4 || l != 1 {
		t.Fatalf("%d batches, %d accounts, %d codes, %d audit lines; want 1, 1, 4, 1", b, a, c, l)
	}
}

func TestDifferentRequestKeysMakeDifferentBatches(t *testing.T) {
	f := newFixture(t, unlimited)
	a, err := f.create(f.request(f.staff, newKey(t), "2"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.create(f.request(f.staff, newKey(t), "3"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Batch.ID == b.Batch.ID || len(b.Codes) != 3 {
		t.Fatalf("batches %d and %d, %d codes", a.Batch.ID, b.Batch.ID, len(b.Codes))
	}
	if n, accts, codes, _ := f.made(); n != 2 || accts != 2 || codes != 5 {
		t.Fatalf("%d batches, %d accounts, %d codes; want 2, 2, 5", n, accts, codes)
	}
}

// TestAnotherStaffMembersKeyIsTheirOwn: a key is unique per staff member;
// one member sending another's key gets a batch of their own and learns
// nothing of the other's.
func TestAnotherStaffMembersKeyIsTheirOwn(t *testing.T) {
	f := newFixture(t, unlimited)
	var other int64
	err := f.store.DB().GetContext(f.ctx, &other, `INSERT INTO staff (name, role, password_hash, created_at)
		VALUES ('op2', 'operator', 'x', now()) RETURNING id`)
	if err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	mine, err := f.create(f.request(f.staff, key, "1"))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := f.create(f.request(other, key, "2"))
	if err != nil || theirs.Batch.ID == mine.Batch.ID || theirs.Batch.CreatedBy != other || len(theirs.Codes) != 2 {
		t.Fatalf("the other member's post: %+v, %v", theirs, err)
	}
}

func TestAMissingOrMalformedRequestKeyIsAFormProblem(t *testing.T) {
	f := newFixture(t, unlimited)
	for _, key := range []string{"", "short-key", strings.Repeat("k", 65), "sixteen chars ok", "ключ-ключ-ключ-ключ",
		"abcdefghijklmnop\x00", "abcdefghijklmnop'; DROP TABLE x--", "<script>alert(1)</script>"} {
		_, err := f.create(f.request(f.staff, key, "1"))
		var p *wallet.Problem
		if !errors.As(err, &p) || p.Code != "redeem.batch.key_invalid" || p.Field != "" {
			t.Errorf("key %q: %v, want the form problem redeem.batch.key_invalid", key, err)
		}
	}
	// The other fields are still checked, all at once.
	_, err := f.create(f.request(f.staff, "", "0"))
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("a missing key and a bad count: %v, want both problems joined", err)
	}
	found := false
	for _, e := range joined.Unwrap() {
		var p *wallet.Problem
		if errors.As(e, &p) && p.Code == "redeem.batch.count_range" {
			found = true
		}
	}
	if !found {
		t.Errorf("a missing key hid the count's problem: %v", err)
	}
	if b, a, c, l := f.made(); b+a+c+l != 0 {
		t.Fatalf("refused posts made %d batches, %d accounts, %d codes, %d audit lines", b, a, c, l)
	}
}

// TestOneRequestKeyPostedManyTimesAtOnceMakesOneBatch: a double click
// arriving as concurrent posts.
func TestOneRequestKeyPostedManyTimesAtOnceMakesOneBatch(t *testing.T) {
	f := newFixture(t, unlimited)
	key := newKey(t)
	const posts = 8
	var wg sync.WaitGroup
	results := make([]redeem.Created, posts)
	errs := make([]error, posts)
	start := make(chan struct{})
	for i := range posts {
		wg.Go(func() {
			<-start
			results[i], errs[i] = f.create(f.request(f.staff, key, "3"))
		})
	}
	close(start)
	wg.Wait()
	withCodes, repeats := 0, 0
	var id int64
	for i := range posts {
		switch {
		case errs[i] == nil && len(results[i].Codes) == 3:
			withCodes++
		case errors.Is(errs[i], redeem.ErrRepeated) && results[i].Codes == nil:
			repeats++
		default:
			t.Fatalf("post %d: %+v, %v", i, results[i], errs[i])
		}
		if id == 0 {
			id = results[i].Batch.ID
		} else if results[i].Batch.ID != id {
			t.Fatalf("post %d answered batch %d, another %d", i, results[i].Batch.ID, id)
		}
	}
	if withCodes != 1 || repeats != posts-1 {
		t.Fatalf("%d posts got codes, %d were told it was made; want 1 and %d", withCodes, repeats, posts-1)
	}
	// A post that lost the race may leave an empty account behind (made
	// before its INSERT met the winner's): never one with money.
	if b, _, c, l := f.made(); b != 1 || c != 3 || l != 1 {
		t.Fatalf("%d batches, %d codes, %d audit lines; want 1, 3, 1", b, c, l)
	}
	if n := f.count(`SELECT count(*) FROM accounts a WHERE a.code LIKE 'redeem:batch:%' AND a.code <> 'redeem:batch:' || $1::text
		AND EXISTS (SELECT 1 FROM ledger_entries e WHERE e.account_id = a.id)`, id); n != 0 {
		t.Fatalf("%d stray batch accounts hold entries", n)
	}
}
