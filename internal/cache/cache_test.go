package cache

import (
	"fmt"
	"testing"
)

// An attacker naming many keys must not grow the cache past its bound,
// and a forgotten key makes room again.
func TestBoundedStopsRememberingAtItsBound(t *testing.T) {
	c := New[string, int](3)
	for i := range 10 {
		c.Put(fmt.Sprint(i), i)
	}
	if c.Len() != 3 {
		t.Fatalf("holds %d values, want 3", c.Len())
	}
	if v, ok := c.Get("2"); !ok || v != 2 {
		t.Errorf(`Get("2") = %d, %v; want 2, true`, v, ok)
	}
	if _, ok := c.Get("3"); ok {
		t.Error(`"3" came past the bound and was remembered`)
	}
	c.Put("0", 99)
	if v, _ := c.Get("0"); v != 0 {
		t.Errorf("Put replaced a remembered value: got %d, want 0", v)
	}
	c.Forget("0")
	c.Forget("0")
	c.Put("7", 7)
	if v, ok := c.Get("7"); !ok || v != 7 || c.Len() != 3 {
		t.Errorf("after Forget: Get(7) = %d, %v, Len %d; want 7, true, 3", v, ok, c.Len())
	}
}
