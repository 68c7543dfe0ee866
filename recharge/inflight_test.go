package recharge

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestInflightRunsCopiesArrivingTogetherOnce(t *testing.T) {
	var f inflight
	var runs, shared atomic.Int64
	release := make(chan struct{})
	started := make(chan struct{})
	want := errors.New("provider said no")
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	wg.Add(1)
	go func() {
		defer wg.Done()
		err, _ := f.do("k", func() error { runs.Add(1); close(started); <-release; return want })
		errs <- err
	}()
	<-started
	for range 9 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err, s := f.do("k", func() error { runs.Add(1); return nil })
			if s {
				shared.Add(1)
			}
			errs <- err
		}()
	}
	// The copies are waiting (or about to); another key is not held up.
	if err, s := f.do("other", func() error { return nil }); err != nil || s {
		t.Fatalf("another key: %v, shared %v", err, s)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, want) && err != nil {
			t.Fatalf("a copy got %v", err)
		}
	}
	// A copy may arrive after the first finished: it then runs on its own.
	if runs.Load()+shared.Load() != 10 || runs.Load() < 1 {
		t.Fatalf("%d runs and %d shared answers for 10 calls", runs.Load(), shared.Load())
	}
	// Once done, the key is free again.
	if err, s := f.do("k", func() error { return nil }); err != nil || s {
		t.Fatalf("after the first: %v, shared %v", err, s)
	}
}
