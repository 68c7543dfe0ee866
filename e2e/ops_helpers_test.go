package e2e

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"im2pay/account"
	"im2pay/adjust"
	"im2pay/db"
	"im2pay/handlers/ops"
	"im2pay/ledger"
	"im2pay/people"
	"im2pay/recharge"
	"im2pay/reconcile"
	"im2pay/redeem"
	"im2pay/spend"
	"im2pay/staff"
)

// newStaff is the console's staff service as the server builds it, with
// the tests' cheap password hashing and the site's clock (nil: real time).
func newStaff(store *db.Store, now func() time.Time) *staff.Service {
	return staff.NewService(store, staff.Options{
		Hasher: account.PasswordHasher{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32},
		Now:    now,
	})
}

// consoleDeps mounts /ops on an e2e site as cmd/im2pay's serve does.
// Its adjustments and redemption codes post through a ledger of their own
// over the same database, as the server's services share one; the site
// hands Redeem to the person's /account/redeem too.
func consoleDeps(store *db.Store, st *staff.Service, rs *recharge.Service, sp *spend.Service, now func() time.Time, sl *serverLog) *ops.Deps {
	led := ledger.New(store)
	accounts := account.NewService(store, account.Options{Now: now, Ledger: led})
	return &ops.Deps{Staff: st, DB: store.DB(), Now: now, Logger: slog.New(sl), Recharge: rs, Spend: sp,
		Adjust: adjust.NewService(store, adjust.Options{Ledger: led, Accounts: accounts, Now: now}),
		Redeem: redeem.NewService(store, redeem.Options{Ledger: led, Now: now}),
		People: people.New(store, people.Options{Accounts: accounts, Recharge: rs, Spend: sp, Now: now}),
		// No biller here: the reports' pages, without a provider's bill.
		Reconcile: reconcile.NewService(store, reconcile.Options{Ledger: led, Recharge: rs, Now: now})}
}

// staffPassword is what a staff member's one-time password is changed to.
const staffPassword = "Console-lantern-2026"

// opsLanguage is what a staff member reading the console sees; written out
// here, not looked up in the catalog, so a missing translation fails.
type opsLanguage struct {
	firstPassword string // the notice on the forced password change
	forbidden     string // the page a role that may not act gets
}

func opsLang(v variant) opsLanguage {
	if v.lang.tag == "en" {
		return opsLanguage{firstPassword: "replace the one-time password", forbidden: "Not allowed"}
	}
	return opsLanguage{firstPassword: "请把一次性密码换成", forbidden: "无权操作"}
}

// staffMember is a console account a journey made.
type staffMember struct {
	name, secret string
}

// addStaff creates a member with role, named for the journey.
func addStaff(t *testing.T, s *site, role staff.Role, v variant, journey string) (string, string) {
	t.Helper()
	name := strings.ReplaceAll(uniqueName(t, v, journey), "_", ".")
	m, pw, err := s.staff.Add(context.Background(), strings.ToLower(name[:min(len(name), 32)]), role)
	if err != nil {
		t.Fatalf("add staff %s: %v", name, err)
	}
	return m.Name, pw
}

// staffLogin walks a new member's first login in the browser: the
// one-time password, the forced change, the TOTP enrollment with a code
// computed from the secret the page shows, and lands on the dashboard.
func (p *page) staffLogin(s *site, role staff.Role, v variant, journey string) staffMember {
	p.t.Helper()
	name, oneTime := addStaff(p.t, s, role, v, journey)
	p.visit("/ops/login")
	p.fill(byID("name"), name)
	p.fill(byID("password"), oneTime)
	p.follow(byTestID("ops-login-submit"), "/ops/password")
	if got := p.text(byTestID("ops-first-password")); !strings.Contains(got, opsLang(v).firstPassword) {
		p.fail("first-login notice %q does not mention %q", got, opsLang(v).firstPassword)
	}
	p.fill(byID("password"), staffPassword)
	p.follow(`form[action="/ops/password"] button[type=submit]`, "/ops/totp/enroll")
	if !p.present(byTestID("ops-totp-qr")) {
		p.fail("the enrollment page shows no QR code")
	}
	secret := p.text(byTestID("ops-totp-secret"))
	p.fill(byID("code"), totpNow(p.t, secret))
	p.follow(byTestID("ops-totp-submit"), "/ops")
	p.wantText(byTestID("ops-staff"), name)
	return staffMember{name: name, secret: secret}
}

// totpNow is the authenticator app's code for secret at this moment: the
// e2e sites run on the real clock, as a phone does.
func totpNow(t *testing.T, secret string) string {
	t.Helper()
	code, err := staff.Code(secret, time.Now())
	if err != nil {
		t.Fatalf("TOTP code: %v", err)
	}
	return code
}
