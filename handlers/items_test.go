package handlers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func (s *site) use(user, key string) answer {
	body := fmt.Sprintf(`{"user":%q,"item":"priority_message","idempotency_key":%q}`, user, key)
	return s.api(http.MethodPost, "/api/v1/items/use", serviceToken, strings.NewReader(body), "Content-Type", "application/json")
}

// A consumable pack decreases as the IM app uses it: once per key, never
// below zero, and the shop shows what is left.
func TestPriorityMessagesFromAPackAreUsedOncePerKey(t *testing.T) {
	s := newAPISite(t, serviceToken)
	b := holder(t, s, "messenger", 100_00)
	expectStatus(t, s.use("messenger", "use-0"), http.StatusConflict) // no pack yet
	expectRedirect(t, buy(b, "priority_100", "key-priority-0001"), "/shop")
	expectJSON(t, s.use("messenger", "use-1"), http.StatusOK, map[string]any{"units_left": float64(99)})
	expectJSON(t, s.use("messenger", "use-1"), http.StatusOK, map[string]any{"units_left": float64(99)})
	expectJSON(t, s.use("messenger", "use-2"), http.StatusOK, map[string]any{"units_left": float64(98)})
	answers := concurrently(30, func(i int) answer { return s.use("messenger", fmt.Sprintf("burst-%d", i%10)) })
	for _, a := range answers {
		expectStatus(t, a, http.StatusOK)
	}
	expectContains(t, b.get("/shop"), "剩余 88 条")
	expectStatus(t, s.use("nobody_here", "use-3"), http.StatusNotFound)
	holder(t, s, "other_person", 0)
	expectStatus(t, s.use("other_person", "use-1"), http.StatusConflict) // a key of someone else's use
	bad := s.api(http.MethodPost, "/api/v1/items/use", serviceToken, strings.NewReader(`{"user":"messenger","item":"gold","idempotency_key":"k"}`), "Content-Type", "application/json")
	expectStatus(t, bad, http.StatusBadRequest)
	expectStatus(t, s.api(http.MethodPost, "/api/v1/items/use", "", strings.NewReader(`{}`), "Content-Type", "application/json"), http.StatusUnauthorized)
}
