package sim

import (
	"testing"
	"time"
)

// The schedules are the providers' documented ones: a retry count and the
// span the retries cover (time-scaled by the notifier, not here).
func TestPayPalRetriesAWebhook25TimesOverThreeDays(t *testing.T) {
	var span time.Duration
	for _, gap := range PayPalSchedule {
		if gap <= 0 {
			t.Fatalf("a gap of %v", gap)
		}
		span += gap
	}
	if attempts := len(PayPalSchedule) + 1; attempts != 25 {
		t.Errorf("%d attempts, want PayPal's 25", attempts)
	}
	if span != 72*time.Hour {
		t.Errorf("the retries span %v, want PayPal's 3 days", span)
	}
}
