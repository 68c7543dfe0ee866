// Package people is what staff see of one person in the operations
// console: the account, its balance and membership, the newest ledger
// lines, orders, gifts and sessions, and "end all sessions". It only
// reads, through each domain's own service, except its one query of the
// wallet and membership.
package people

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"im2pay/account"
	"im2pay/db"
	"im2pay/problem"
	"im2pay/recharge"
	"im2pay/spend"
	"im2pay/statement"
	"im2pay/wallet"
)

// recentOrders is how many top-ups the person page lists.
const recentOrders = 20

// Service reads people for staff.
type Service struct {
	store     *db.Store
	accounts  *account.Service
	recharge  *recharge.Service
	spend     *spend.Service
	statement *statement.Service
	now       func() time.Time
}

// Options are the domain services the page reads through; nil ones are
// made over the same store with their defaults.
type Options struct {
	Accounts  *account.Service
	Recharge  *recharge.Service
	Spend     *spend.Service
	Statement *statement.Service
	Location  *time.Location // the statement's zone (nil: UTC)
	Now       func() time.Time
}

// New builds a Service over a store.
func New(store *db.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Accounts == nil {
		o.Accounts = account.NewService(store, account.Options{Now: o.Now})
	}
	if o.Recharge == nil {
		o.Recharge = recharge.NewService(store, recharge.Options{Now: o.Now, Location: o.Location})
	}
	if o.Spend == nil {
		o.Spend = spend.NewService(store, spend.Options{Now: o.Now, Accounts: o.Accounts})
	}
	if o.Statement == nil {
		o.Statement = statement.New(store, o.Location, o.Now)
	}
	return &Service{store: store, accounts: o.Accounts, recharge: o.Recharge, spend: o.Spend,
		statement: o.Statement, now: o.Now}
}

// Person is the staff person page. It carries nothing that logs anyone
// in: no password hash, no session token hash or session data.
type Person struct {
	ID       int64
	Username string
	Since    time.Time // when the account was made
	WalletID int64
	Balance  wallet.Money
	// MemberUntil is when the membership ends (zero: never a member);
	// Member says whether it runs now.
	MemberUntil time.Time
	Member      bool
	Lines       []wallet.Record // the newest ledger lines (one history page)
	MoreLines   int64           // the history cursor of the next page (0: none)
	Orders      []recharge.Order
	Gifts       spend.GiftsOverview
	Sessions    []Session
	Now         time.Time
}

// Session is one place the person is logged in, as staff may see it.
type Session struct {
	PublicID   int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	UserAgent  string
	ClientIP   string
}

// Find is the lookup form's one field: a username, or a user id when no
// one has that name (a name may be all digits, so the name wins).
func (s *Service) Find(ctx context.Context, who string) (Person, error) {
	who = strings.TrimSpace(who)
	p, err := s.ByName(ctx, who)
	if err == nil || !errors.Is(err, db.ErrNotFound) && validName(who) {
		return p, err
	}
	if id, perr := strconv.ParseInt(strings.TrimPrefix(who, "#"), 10, 64); perr == nil && id > 0 {
		if p, err := s.ByID(ctx, id); !errors.Is(err, db.ErrNotFound) {
			return p, err
		}
	}
	return Person{}, problem.New("username", "ops.person.err.username")
}

// ByName loads the page of the user named name, in any letter case.
func (s *Service) ByName(ctx context.Context, name string) (Person, error) {
	if !validName(name) {
		return Person{}, problem.New("username", "ops.person.err.username")
	}
	u, err := s.accounts.UserByName(ctx, name)
	if err != nil {
		return Person{}, err
	}
	return s.load(ctx, u)
}

// ByID loads the page of user id.
func (s *Service) ByID(ctx context.Context, id int64) (Person, error) {
	if id <= 0 {
		return Person{}, fmt.Errorf("person %d: %w", id, db.ErrNotFound)
	}
	u, err := s.accounts.UserByID(ctx, id)
	if err != nil {
		return Person{}, err
	}
	return s.load(ctx, u)
}

// validName is the users.username CHECK: anything else names nobody, and
// must not reach PostgreSQL (a NUL byte would be an error, not no rows).
func validName(v string) bool {
	if len(v) < 3 || len(v) > 32 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

func (s *Service) load(ctx context.Context, u account.User) (Person, error) {
	p := Person{ID: u.ID, Username: u.Username, Since: u.CreatedAt, WalletID: u.WalletID, Now: s.now()}
	w, err := s.walletOf(ctx, u.ID)
	if err != nil {
		return p, err
	}
	p.Balance, p.MemberUntil = wallet.Money(w.Balance), w.MemberUntil.Time
	p.Member = w.MemberUntil.Valid && p.Now.Before(w.MemberUntil.Time)
	page, err := s.statement.History(ctx, u.WalletID, statement.HistoryFilter{})
	if err != nil {
		return p, fmt.Errorf("person %d: %w", u.ID, err)
	}
	p.Lines, p.MoreLines = page.Records, page.Next
	if p.Orders, err = s.recharge.LatestOrders(ctx, u.ID, recentOrders); err != nil {
		return p, fmt.Errorf("person %d: %w", u.ID, err)
	}
	if p.Gifts, err = s.spend.Gifts(ctx, u.ID); err != nil {
		return p, fmt.Errorf("person %d: %w", u.ID, err)
	}
	sessions, err := s.accounts.Sessions(ctx, u.ID)
	if err != nil {
		return p, fmt.Errorf("person %d: %w", u.ID, err)
	}
	for _, x := range sessions {
		p.Sessions = append(p.Sessions, Session{PublicID: x.PublicID, CreatedAt: x.CreatedAt,
			LastSeenAt: x.LastSeenAt, UserAgent: x.UserAgent, ClientIP: x.ClientIP})
	}
	return p, nil
}

// EndAllSessions logs user id out everywhere and returns how many
// sessions ended, for the audit log.
func (s *Service) EndAllSessions(ctx context.Context, id int64) (int, error) {
	if id <= 0 {
		return 0, fmt.Errorf("end sessions of user %d: %w", id, db.ErrNotFound)
	}
	n, _, err := s.accounts.EndAllSessions(ctx, id)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return 0, fmt.Errorf("end sessions of user %d: %w", id, err)
	}
	return n, err
}
