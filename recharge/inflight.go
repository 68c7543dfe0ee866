package recharge

import "sync"

// inflight lets identical work arriving together run once: providers send
// a notification several times, often at the same moment, and the copies
// that arrive while the first is being credited need nothing of their own.
// They wait for the first and share its outcome. Work that starts after
// the first has finished runs again (and finds the order paid).
type inflight struct {
	mu    sync.Mutex
	calls map[string]*flight
}

type flight struct {
	done chan struct{}
	err  error
}

// do runs fn under key unless a call under key is already running, in
// which case it waits for that call and returns its error; shared reports
// the latter.
func (f *inflight) do(key string, fn func() error) (err error, shared bool) {
	f.mu.Lock()
	if c, ok := f.calls[key]; ok {
		f.mu.Unlock()
		<-c.done
		return c.err, true
	}
	if f.calls == nil {
		f.calls = map[string]*flight{}
	}
	c := &flight{done: make(chan struct{})}
	f.calls[key] = c
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.calls, key)
		f.mu.Unlock()
		close(c.done)
	}()
	c.err = fn()
	return c.err, false
}
