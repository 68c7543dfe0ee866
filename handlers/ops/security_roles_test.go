package ops_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"im2pay/internal/figures"
	"im2pay/staff"
)

// routePermissions is what each console route needs, by its route path as
// registered. Every route behind the login must be listed: the sweep below
// fails on one that is not, so a new action cannot ship unclassified.
var routePermissions = map[string]staff.Permission{
	"GET /ops":                          staff.View,
	"GET /ops/":                         staff.View,
	"GET /ops/audit":                    staff.View,
	"GET /ops/staff":                    staff.ManageStaff,
	"POST /ops/staff":                   staff.ManageStaff,
	"POST /ops/staff/:name/disable":     staff.ManageStaff,
	"GET /ops/orders":                   staff.View,
	"GET /ops/orders.csv":               staff.View,
	"GET /ops/orders/:no":               staff.View,
	"POST /ops/orders/:no/requery":      staff.Requery,
	"GET /ops/people":                   staff.View,
	"GET /ops/people/:id":               staff.View,
	"POST /ops/people/:id/sessions/end": staff.EndSessions,
	"GET /ops/maintenance":              staff.View,
	"POST /ops/maintenance":             staff.Maintain,
	"POST /ops/maintenance/off":         staff.Maintain,
	"POST /ops/maintenance/all-off":     staff.Maintain,
	"GET /ops/adjustments":              staff.View,
	"POST /ops/adjustments":             staff.Adjust,
	"POST /ops/adjustments/:id/approve": staff.Approve,
	"POST /ops/adjustments/:id/reject":  staff.Approve,
	"GET /ops/redeem":                   staff.View,
	"GET /ops/redeem/batches":           staff.View, // the codes page's address opened again: the list, no codes
	"POST /ops/redeem/batches":          staff.IssueCodes,
	"POST /ops/redeem/batches/:id/void": staff.IssueCodes,
	"GET /ops/promotions":               staff.View,
	"POST /ops/promotions/preview":      staff.View, // computes a preview, changes nothing
	"POST /ops/promotions/rules":        staff.EditPromotions,
	"POST /ops/promotions/events":       staff.EditPromotions,
	"POST /ops/promotions/events/end":   staff.EditPromotions,
	// Refunds: the preview computes, changes nothing, but shows a person's
	// balance beside a refund only finance may make.
	"GET /ops/refunds":                   staff.View,
	"GET /ops/orders/:no/refund/preview": staff.Refund,
	"POST /ops/orders/:no/refund":        staff.Refund,
	"POST /ops/refunds/:id/approve":      staff.Approve,
	"POST /ops/refunds/:id/reject":       staff.Approve,
	// Reconciliation: running a day asks the provider and may credit a
	// payment it confirms; resolving a difference is finance's decision.
	"GET /ops/reconcile":                          staff.View,
	"GET /ops/reconcile/:id":                      staff.View,
	"GET /ops/reconcile/:id/csv":                  staff.View,
	"POST /ops/reconcile/run":                     staff.Reconcile,
	"POST /ops/reconcile/differences/:id/resolve": staff.ResolveDifference,
}

// ownSteps are the routes every staff member uses on themself: the login
// steps, their own password, the language, logging out. No permission.
var ownSteps = map[string]bool{
	"GET /ops/login": true, "POST /ops/login": true, "POST /ops/logout": true, "POST /ops/lang": true,
	"GET /ops/password": true, "POST /ops/password": true, "GET /ops/totp/enroll": true,
	"POST /ops/totp/enroll": true, "GET /ops/totp": true, "POST /ops/totp": true,
}

// guardedRoute is a console route behind the login with what it needs.
type guardedRoute struct {
	method, pattern string
	need            staff.Permission
}

func (r guardedRoute) key() string { return r.method + " " + r.pattern }

// guardedRoutes lists the router's console routes behind the login, and
// fails the test for any that routePermissions does not classify.
func guardedRoutes(t *testing.T, con *console) []guardedRoute {
	t.Helper()
	var out []guardedRoute
	seen := map[string]bool{}
	for _, r := range con.echo.Routes() {
		if !(r.Path == "/ops" || strings.HasPrefix(r.Path, "/ops/")) || strings.HasSuffix(r.Path, "*") {
			continue
		}
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			continue
		}
		g := guardedRoute{method: r.Method, pattern: r.Path}
		if seen[g.key()] || ownSteps[g.key()] {
			continue
		}
		seen[g.key()] = true
		p, ok := routePermissions[g.key()]
		if !ok {
			t.Errorf("console route %s has no entry in routePermissions: say which permission it needs", g.key())
			continue
		}
		g.need = p
		out = append(out, g)
	}
	// A listed route the router lacks is a stale line (a renamed path the
	// sweep would silently stop trying).
	for key := range routePermissions {
		if !seen[key] {
			t.Errorf("routePermissions lists %s, which the console does not serve", key)
		}
	}
	return out
}

var routeParam = regexp.MustCompile(`:[a-z_]+`)

// tampered fills a route's parameters with an id that names nothing: a
// member who may act must get a clear refusal (4xx), never a 500 and
// never someone else's object.
func (r guardedRoute) tampered() string {
	return routeParam.ReplaceAllString(r.pattern, "999999999")
}

// TestEachRoleIsRefusedEveryActionItsRoleLacks logs in one member of each
// role and tries every console route: each one the role lacks answers
// 403 with the console's refusal page (and changes nothing, since the
// handler never runs); each one it holds answers without a server error
// even with a made-up object id and a forged staff id in the form.
func TestEachRoleIsRefusedEveryActionItsRoleLacks(t *testing.T) {
	con := newConsole(t)
	routes := guardedRoutes(t, con)
	if len(routes) < 5 {
		t.Fatalf("only %d guarded routes found", len(routes))
	}
	other := loginAs(t, con, staff.Admin)
	attempts, through := 0, 0
	for _, role := range staff.Roles {
		ag := loginAs(t, con, role)
		token := csrfField.FindStringSubmatch(ag.get("/ops").body)
		if token == nil {
			t.Fatalf("%s: no CSRF token on the dashboard", role)
		}
		for _, r := range routes {
			attempts++
			var a answer
			if r.method == http.MethodGet {
				a = ag.get(r.tampered())
			} else {
				// A forged staff id and requester: the server takes who acts
				// from the session, never from the form.
				a = ag.do(http.MethodPost, r.tampered(), url.Values{"_csrf": {token[1]},
					"staff_id": {itoa(int(other.member.ID))}, "requested_by": {itoa(int(other.member.ID))}})
			}
			refused := a.status == http.StatusForbidden && strings.Contains(a.body, `data-testid="ops-forbidden"`)
			switch {
			case !role.Can(r.need) && !refused:
				through++
				t.Errorf("%s may not %s (needs %s) but got %d:\n%.300s", role, r.key(), r.need, a.status, a.body)
			case role.Can(r.need) && (refused || a.status >= 500):
				through++
				t.Errorf("%s may %s (needs %s) but got %d:\n%.300s", role, r.key(), r.need, a.status, a.body)
			}
		}
	}
	figures.Record(t, "security", "ops: each role tries every console route (made-up ids, forged staff id)", attempts, through)
}

// TestEveryConsolePOSTNeedsTheSessionsCSRFToken sends every guarded POST
// without a token, by a member whose role may do it: each is refused
// before the handler runs.
func TestEveryConsolePOSTNeedsTheSessionsCSRFToken(t *testing.T) {
	con := newConsole(t)
	members := map[staff.Role]*agent{}
	attempts, through := 0, 0
	for _, r := range guardedRoutes(t, con) {
		if r.method != http.MethodPost {
			continue
		}
		var role staff.Role
		for _, ro := range staff.Roles {
			if ro.Can(r.need) {
				role = ro
				break
			}
		}
		if members[role] == nil {
			members[role] = loginAs(t, con, role)
		}
		attempts++
		a := members[role].do(http.MethodPost, r.tampered(), url.Values{})
		if a.status != http.StatusForbidden || strings.Contains(a.body, `data-testid="ops-forbidden"`) {
			through++
			t.Errorf("%s without a token by a %s: %d", r.key(), role, a.status)
		}
	}
	figures.Record(t, "security", "ops: every console POST without the CSRF token", attempts, through)
}
