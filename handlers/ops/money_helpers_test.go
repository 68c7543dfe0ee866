package ops_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"im2pay/wallet"
)

// personPassword is the password of the people money tests register.
const personPassword = "correct-horse-42"

// person registers name, gives them amount (through the wallet's grant)
// and logs them in on the person-facing pages in their own browser.
func person(t *testing.T, con *console, name string, amount wallet.Money) (*agent, int64) {
	t.Helper()
	ctx := context.Background()
	u, err := con.accounts.Register(ctx, name, personPassword, "test:"+name)
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	if amount > 0 {
		if _, err := con.wallet.Grant(ctx, u.ID, amount, "money-test:"+name, "test"); err != nil {
			t.Fatal(err)
		}
	}
	b := con.agent()
	expectRedirect(t, b.post("/login", "/login", url.Values{"username": {name}, "password": {personPassword}}), "/account")
	return b, u.ID
}

// balance is user id's wallet balance in fen, from the ledger.
func (con *console) balance(id int64) int64 {
	con.t.Helper()
	ctx := context.Background()
	w, err := con.ledger.WalletOf(ctx, con.store.DB(), id)
	if err != nil {
		con.t.Fatal(err)
	}
	b, err := con.ledger.Balance(ctx, w)
	if err != nil {
		con.t.Fatal(err)
	}
	return b
}

// auditLines counts the audit lines of action by staff member staffName
// (any member: "") on object id (any: "") whose detail contains detail.
func (con *console) auditLines(action, staffName, objectID, detail string) int {
	con.t.Helper()
	var n int
	err := con.store.DB().GetContext(context.Background(), &n, `SELECT count(*) FROM audit_log
		WHERE action = $1 AND ($2 = '' OR staff_name = $2) AND ($3 = '' OR object_id = $3) AND strpos(detail, $4) > 0`,
		action, staffName, objectID, detail)
	if err != nil {
		con.t.Fatal(err)
	}
	return n
}

// expectDenied checks a refusal by role: 403, the console's page, and a
// "denied" audit line of the member for that path.
func expectDenied(t *testing.T, con *console, ag *agent, a answer, path string) {
	t.Helper()
	expectStatus(t, a, http.StatusForbidden)
	expectContains(t, a, "无权操作")
	if con.auditLines("denied", ag.member.Name, "", "POST "+path) == 0 {
		t.Fatalf("no denied audit line for %s on %s", ag.member.Name, path)
	}
}
