// Package staff is the people who run the payment center: their accounts,
// roles, second factor and sessions in the operations console (/ops).
// They are not users: a staff member has no wallet, and a user's session
// never opens /ops.
package staff

import "slices"

// Role is what a staff member is for; it matches the staff_role enum.
type Role string

const (
	Viewer   Role = "viewer"   // reads everything, changes nothing
	Operator Role = "operator" // 补单, maintenance, redemption batches
	Finance  Role = "finance"  // adjustments, refunds, approvals
	Admin    Role = "admin"    // staff accounts and promotions
)

// Roles lists every role, in the order forms show them.
var Roles = []Role{Viewer, Operator, Finance, Admin}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Permission is one kind of action in the console; every handler that
// changes something names the one it needs, and the server checks it.
type Permission string

const (
	View           Permission = "view"            // every page and export
	Requery        Permission = "requery"         // 补单: ask a provider about an order
	Maintain       Permission = "maintain"        // maintenance switches
	IssueCodes     Permission = "issue_codes"     // redemption batches: create, export, void
	Adjust         Permission = "adjust"          // ask for a wallet adjustment
	Approve        Permission = "approve"         // approve someone else's adjustment or refund
	Refund         Permission = "refund"          // refund a paid top-up
	ManageStaff    Permission = "manage_staff"    // add, disable, reset staff
	EditPromotions Permission = "edit_promotions" // recharge tiers, bonus rules, limits, events
	EndSessions    Permission = "end_sessions"    // log a person out everywhere (a hijacked account)
	// Reconcile runs a day's reconciliation (对账) again from /ops: it asks
	// the provider for its bill and may credit a payment it confirms.
	Reconcile Permission = "reconcile"
	// ResolveDifference closes a reconciliation difference with a note:
	// finance decides what a difference means for the books.
	ResolveDifference Permission = "resolve_difference"
)

// grants is what each role may do. The roles do not nest: an admin, who can
// create staff accounts, cannot also move money, or one person could make
// a second account and approve their own adjustment.
var grants = map[Role][]Permission{
	Viewer:   {View},
	Operator: {View, Requery, Maintain, IssueCodes, EndSessions, Reconcile},
	Finance:  {View, Adjust, Approve, Refund, EndSessions, Reconcile, ResolveDifference},
	Admin:    {View, ManageStaff, EditPromotions},
}

// Can reports whether the role grants p.
func (r Role) Can(p Permission) bool { return slices.Contains(grants[r], p) }
