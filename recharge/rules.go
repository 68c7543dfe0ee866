package recharge

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"im2pay/audit"
	"im2pay/payment"
	"im2pay/problem"
)

// QuoteLifetime is how long a quote stays good after the version it was
// priced under stops being in force: a person who was shown a quote and
// confirms within this time gets its terms.
const QuoteLifetime = 30 * time.Minute

// rulesTTL bounds how long one instance serves a cached version: another
// instance may publish. The instance that publishes forgets at once, and a
// scheduled version is picked up when its valid_from arrives.
const rulesTTL = 10 * time.Second

// ErrTermsChanged refuses an order confirmed under rules that are no longer
// honoured: the person is shown the new quote before paying.
var ErrTermsChanged error = problem.New("", "recharge.terms_changed")

// RuleVersion is one published set of rules. Versions are never edited; a
// change is a new version.
type RuleVersion struct {
	ID        int64
	Rules     Rules
	ValidFrom time.Time
	CreatedBy sql.NullInt64 // null for the seed version
	CreatedAt time.Time
}

// rulesCache holds the version in force, loaded at loaded (app clock) and
// good until until: loaded+rulesTTL, or the next scheduled valid_from if
// that is sooner.
type rulesCache struct {
	mu     sync.Mutex
	v      RuleVersion
	loaded time.Time
	until  time.Time
}

// CurrentRules is the version in force now (app clock): the latest by
// valid_from, then id, whose valid_from has passed.
func (s *Service) CurrentRules(ctx context.Context) (RuleVersion, error) {
	c := &s.ruleCache
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.now()
	// A clock that went back (a test's) is a reason to look again too.
	if !c.loaded.IsZero() && !now.Before(c.loaded) && now.Before(c.until) {
		return c.v, nil
	}
	v, next, err := s.versionInForce(ctx, now)
	if err != nil {
		return RuleVersion{}, err
	}
	c.v, c.loaded, c.until = v, now, now.Add(rulesTTL)
	if next.Valid && next.Time.Before(c.until) {
		c.until = next.Time
	}
	return v, nil
}

// forgetRules drops the cached version after a publish.
func (s *Service) forgetRules() {
	s.ruleCache.mu.Lock()
	s.ruleCache.loaded = time.Time{}
	s.ruleCache.mu.Unlock()
}

// rulesFor is the version an order confirmed under id is priced with: the
// version in force when id is 0 or is that version; id itself while it is
// in force or stopped being so less than QuoteLifetime ago; otherwise
// ErrTermsChanged. The form's id is the person's to edit, so only a version
// that was in force recently is honoured: never a scheduled one, never an
// old one however generous. Honouring it until QuoteLifetime after it was
// superseded gives a quote shown just before a change its lifetime without
// having to trust a time sent by the form.
func (s *Service) rulesFor(ctx context.Context, id int64) (RuleVersion, error) {
	cur, err := s.CurrentRules(ctx)
	if err != nil || id == 0 || id == cur.ID {
		return cur, err
	}
	v, supersededAt, err := s.versionByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return RuleVersion{}, ErrTermsChanged
	}
	if err != nil {
		return RuleVersion{}, err
	}
	now := s.now()
	if now.Before(v.ValidFrom) || !supersededAt.Valid || !now.Before(supersededAt.Time.Add(QuoteLifetime)) {
		return RuleVersion{}, ErrTermsChanged
	}
	return v, nil
}

// Published is a publish's before and after, for the console's audit.
type Published struct {
	// Before is the version that would have been in force at the new
	// version's valid_from.
	Before RuleVersion
	After  RuleVersion
}

// PublishRules validates r and adds it as a new version in force from
// validFrom (now when zero or past: a change is never backdated), made by
// staff member staffID. entry is appended to the audit log in the same
// transaction, with At, StaffID, Action, ObjectKind, ObjectID, Before and
// After filled where the caller left them empty. Refusals are problems on
// the form's fields (see ValidateRules).
func (s *Service) PublishRules(ctx context.Context, r Rules, validFrom time.Time, staffID int64, entry audit.Entry) (Published, error) {
	if err := ValidateRules(r); err != nil {
		return Published{}, err
	}
	now := s.now()
	if validFrom.Before(now) {
		validFrom = now
	}
	r.Lifetime = 0
	var out Published
	err := s.store.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if out.Before, _, err = versionInForceQ(ctx, tx, validFrom); err != nil {
			return err
		}
		if out.After, err = insertVersion(ctx, tx, r, validFrom, staffID, now); err != nil {
			return err
		}
		return audit.Append(ctx, tx, auditOf(entry, out, staffID, now))
	})
	if err != nil {
		return Published{}, err
	}
	s.forgetRules()
	out.Before.Rules.Lifetime, out.After.Rules.Lifetime = s.rules.Lifetime, s.rules.Lifetime
	return out, nil
}

// auditOf completes the caller's audit entry for a publish.
func auditOf(e audit.Entry, p Published, staffID int64, now time.Time) audit.Entry {
	if e.At.IsZero() {
		e.At = now
	}
	if e.StaffID == 0 {
		e.StaffID = staffID
	}
	if e.Action == "" {
		e.Action = "promotion.rules_publish"
	}
	if e.ObjectKind == "" {
		e.ObjectKind = "rule_version"
	}
	if e.ObjectID == "" {
		e.ObjectID = strconv.FormatInt(p.After.ID, 10)
	}
	if e.Before == nil {
		e.Before = versionAudit(p.Before)
	}
	if e.After == nil {
		e.After = versionAudit(p.After)
	}
	return e
}

// versionAudit is a version as the audit log keeps it.
func versionAudit(v RuleVersion) map[string]any {
	return map[string]any{"version": v.ID, "valid_from": v.ValidFrom, "rules": v.Rules}
}

// RuleVersions lists every version, newest first, at most limit of them.
func (s *Service) RuleVersions(ctx context.Context, limit int) ([]RuleVersion, error) {
	vs, err := listVersions(ctx, s.store.DB(), limit)
	for i := range vs {
		vs[i].Rules.Lifetime = s.rules.Lifetime
	}
	return vs, err
}

// PreviewPresets is Preview for each preset of r.
func PreviewPresets(r Rules, m string, first bool) []Quote {
	out := make([]Quote, 0, len(r.Presets))
	for _, p := range r.Presets {
		out = append(out, Preview(r, p, payment.Method(m), first))
	}
	return out
}
