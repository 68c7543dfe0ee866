package handlers_test

import (
	"context"
	"errors"
	"sync"

	"im2pay/payment"
)

// calls counts what the app asked a provider, per order, and can make a
// provider fail for chosen orders as if it could not answer about them.
type calls struct {
	mu      sync.Mutex
	queries map[string]int // Complete and Query, per order number
	closes  map[string]int
	remote  int // notifications a RemoteVerifier verified by calling the provider
	failing map[string]bool
}

func newCalls() *calls {
	return &calls{queries: map[string]int{}, closes: map[string]int{}, failing: map[string]bool{}}
}

var errUnreachable = errors.New("test: the provider cannot answer about this order")

// wrap puts every provider behind the counter; a PayPal-like provider that
// verifies notifications remotely keeps doing so.
func (c *calls) wrap(ps map[payment.Method]payment.Provider) map[payment.Method]payment.Provider {
	out := map[payment.Method]payment.Provider{}
	for m, p := range ps {
		cp := &countingProvider{Provider: p, c: c}
		if rv, ok := p.(payment.RemoteVerifier); ok {
			cv := &countingVerifier{countingProvider: cp, rv: rv}
			if conv, ok := p.(payment.Converter); ok { // PayPal: keep its currency
				out[m] = &convertingVerifier{countingVerifier: cv, Converter: conv}
				continue
			}
			out[m] = cv
			continue
		}
		out[m] = cp
	}
	return out
}

func (c *calls) fail(no string) { c.mu.Lock(); c.failing[no] = true; c.mu.Unlock() }

func (c *calls) query(no string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queries[no]++
	if c.failing[no] {
		return errUnreachable
	}
	return nil
}

func (c *calls) queriesOf(no string) int { c.mu.Lock(); defer c.mu.Unlock(); return c.queries[no] }

func (c *calls) totalQueries() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, q := range c.queries {
		n += q
	}
	return n
}

func (c *calls) remoteVerifications() int { c.mu.Lock(); defer c.mu.Unlock(); return c.remote }

type countingProvider struct {
	payment.Provider
	c *calls
}

func (p *countingProvider) Complete(ctx context.Context, no, ref string) (payment.Result, error) {
	if err := p.c.query(no); err != nil {
		return payment.Result{}, err
	}
	return p.Provider.Complete(ctx, no, ref)
}

func (p *countingProvider) Query(ctx context.Context, no, ref string) (payment.Result, error) {
	if err := p.c.query(no); err != nil {
		return payment.Result{}, err
	}
	return p.Provider.Query(ctx, no, ref)
}

func (p *countingProvider) Close(ctx context.Context, no, ref string) error {
	p.c.mu.Lock()
	p.c.closes[no]++
	p.c.mu.Unlock()
	return p.Provider.Close(ctx, no, ref)
}

// countingVerifier is a countingProvider for a provider whose notification
// check is a call to the provider: each one is counted.
type countingVerifier struct {
	*countingProvider
	rv payment.RemoteVerifier
}

func (p *countingVerifier) NamedOrder(body []byte) string { return p.rv.NamedOrder(body) }

// convertingVerifier is a countingVerifier for a provider that prices
// orders in a currency of its own (payment.Converter), as PayPal does.
type convertingVerifier struct {
	*countingVerifier
	payment.Converter
}

func (p *countingVerifier) ParseNotification(ctx context.Context, h payment.Header, body []byte) (payment.Notification, error) {
	p.c.mu.Lock()
	p.c.remote++
	p.c.mu.Unlock()
	return p.Provider.ParseNotification(ctx, h, body)
}
