package recharge

import (
	"context"
	"database/sql"
	"slices"
	"time"
	"unicode/utf8"

	"im2pay/payment"
	"im2pay/problem"
)

// MethodStatus is one method as the recharge page shows it.
type MethodStatus struct {
	Method    payment.Method
	Limit     Limit
	Open      bool
	Message   string    // the maintenance notice when closed, in Chinese
	MessageEN string    // the same in English ("" : none given)
	Until     time.Time // when maintenance is expected to end (zero: unknown)
}

// Notice is the maintenance notice in both languages.
func (m MethodStatus) Notice() Notice { return Notice{ZH: m.Message, EN: m.MessageEN} }

// Notice is a maintenance message in Chinese and English.
type Notice struct{ ZH, EN string }

// Localize is the notice in lang ("en" or else Chinese). An English reader
// of a switch turned on with a Chinese message only reads the Chinese one:
// better than no reason at all. The i18n catalog calls it for a Problem's
// argument, so the refusal an order gets is in the reader's language too.
func (n Notice) Localize(lang string) string {
	if lang == "en" && n.EN != "" {
		return n.EN
	}
	return n.ZH
}

// String is the Chinese notice, for logs.
func (n Notice) String() string { return n.ZH }

// Methods lists every configured method with its maintenance state. The
// switches live in the database, so `im2pay maintenance` takes effect on
// the next request without a restart.
func (s *Service) Methods(ctx context.Context) ([]MethodStatus, error) {
	ms, err := s.Maintenances(ctx)
	if err != nil {
		return nil, err
	}
	closed := map[string]Maintenance{}
	for _, m := range ms {
		closed[m.Method] = m
	}
	rv, err := s.CurrentRules(ctx)
	if err != nil {
		return nil, err
	}
	var out []MethodStatus
	for _, m := range payment.Methods {
		if _, ok := s.providers[m]; !ok {
			continue
		}
		st := MethodStatus{Method: m, Limit: rv.Rules.Limits[m], Open: true}
		for _, key := range []string{"all", string(m)} {
			if mt, ok := closed[key]; ok {
				st.Open, st.Message, st.MessageEN, st.Until = false, mt.Message, mt.MessageEN, mt.Until.Time
			}
		}
		out = append(out, st)
	}
	return out, nil
}

func (s *Service) checkMaintenance(ctx context.Context, m payment.Method) error {
	all, err := s.Methods(ctx)
	if err != nil {
		return err
	}
	for _, st := range all {
		if st.Method == m {
			if !st.Open {
				return problem.New("method", "recharge.maintenance", st.Notice())
			}
			return nil
		}
	}
	return problem.New("method", "recharge.method_err")
}

// MaintenanceKeys are the switches: "all" and each method.
var MaintenanceKeys = []string{"all", string(payment.Alipay), string(payment.WeChat), string(payment.Card), string(payment.PayPal)}

// maxNotice is the longest maintenance message, in characters: a line
// beside a payment method, not a page.
const maxNotice = 200

// MaintenanceChange is one switch before and after a change (nil: off),
// for the audit log.
type MaintenanceChange struct {
	Method        string
	Before, After *Maintenance
}

// SetMaintenance turns maintenance on for a method or "all", with a
// Chinese message only.
func (s *Service) SetMaintenance(ctx context.Context, method, message string, until time.Time) error {
	_, err := s.SwitchMaintenanceOn(ctx, method, Notice{ZH: message}, until)
	return err
}

// SwitchMaintenanceOn turns maintenance on for a method or "all" (or
// changes its notice and expected end), and returns the switch before and
// after. A zero until is "end unknown".
func (s *Service) SwitchMaintenanceOn(ctx context.Context, method string, n Notice, until time.Time) (MaintenanceChange, error) {
	if !slices.Contains(MaintenanceKeys, method) {
		return MaintenanceChange{}, problem.New("method", "ops.maintenance.err.method")
	}
	for field, text := range map[string]string{"message": n.ZH, "message_en": n.EN} {
		if !utf8.ValidString(text) || utf8.RuneCountInString(text) > maxNotice || containsControl(text) {
			return MaintenanceChange{}, problem.New(field, "ops.maintenance.err.message", maxNotice)
		}
	}
	m := Maintenance{Method: method, Message: n.ZH, MessageEN: n.EN}
	if !until.IsZero() {
		m.Until = sql.NullTime{Time: until, Valid: true}
	}
	return s.setMaintenance(ctx, m)
}

// containsControl reports a control character (a NUL would not even reach
// PostgreSQL's text; others have no place in a one-line notice).
func containsControl(v string) bool {
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// ClearMaintenance turns maintenance off for one switch, a method or
// "all". "all" is the switch of that name only: a method closed on its
// own stays closed (ClearAllMaintenance lifts every switch).
func (s *Service) ClearMaintenance(ctx context.Context, method string) error {
	_, err := s.SwitchMaintenanceOff(ctx, method)
	return err
}

// SwitchMaintenanceOff is ClearMaintenance returning the switch before
// and after.
func (s *Service) SwitchMaintenanceOff(ctx context.Context, method string) (MaintenanceChange, error) {
	if !slices.Contains(MaintenanceKeys, method) {
		return MaintenanceChange{}, problem.New("method", "ops.maintenance.err.method")
	}
	return s.clearMaintenance(ctx, method)
}

// ClearAllMaintenance lifts every switch, "all" and each method's, in one
// statement, and returns each switch that was on, as it was.
func (s *Service) ClearAllMaintenance(ctx context.Context) ([]MaintenanceChange, error) {
	return s.clearAllMaintenance(ctx)
}
