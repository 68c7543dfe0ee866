package staff_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"im2pay/account"
	"im2pay/db"
	"im2pay/db/dbtest"
	"im2pay/staff"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func newService(t *testing.T, now func() time.Time) *staff.Service {
	t.Helper()
	return staff.NewService(db.New(dbtest.New(t)), staff.Options{
		Hasher: account.PasswordHasher{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32}, Now: now})
}

func TestOneTOTPCodeSentManyTimesAtOnceIsAcceptedOnce(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 1, 0, time.UTC)
	s := newService(t, func() time.Time { return now })
	ctx := context.Background()
	m, _, err := s.Add(ctx, "racer", staff.Operator)
	if err != nil {
		t.Fatal(err)
	}
	en, err := s.NewEnrollment(m)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := staff.Code(en.Secret, now)
	if err := s.ConfirmEnrollment(ctx, m, en.Secret, code, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(staff.TOTPPeriod * time.Second)
	if m, err = s.ByID(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	code, _ = staff.Code(en.Secret, now)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.VerifyTOTP(ctx, m, code, "192.0.2.1") == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("one code sent 20 times at once was accepted %d times, want 1", ok.Load())
	}
	// The enrollment's code, one step older, is refused too: steps only move on.
	old, _ := staff.Code(en.Secret, now.Add(-staff.TOTPPeriod*time.Second))
	if err := s.VerifyTOTP(ctx, m, old, "192.0.2.1"); err == nil {
		t.Error("an older step's code was accepted after a newer one")
	}
}

func TestAddPrintsADistinctOneTimePasswordAndRefusesBadNamesAndRoles(t *testing.T) {
	s := newService(t, time.Now)
	ctx := context.Background()
	_, a, err := s.Add(ctx, "first", staff.Viewer)
	if err != nil {
		t.Fatal(err)
	}
	_, b, err := s.Add(ctx, "second", staff.Viewer)
	if err != nil {
		t.Fatal(err)
	}
	if a == b || len(a) != 20 {
		t.Errorf("one-time passwords %q and %q", a, b)
	}
	for _, bad := range []struct {
		name string
		role staff.Role
	}{{"first", staff.Admin}, {"Upper", staff.Viewer}, {"x", staff.Viewer}, {"ok.name", "root"}} {
		if _, _, err := s.Add(ctx, bad.name, bad.role); err == nil {
			t.Errorf("Add(%q, %q) was accepted", bad.name, bad.role)
		}
	}
}
