package recharge

import (
	"context"
	"database/sql"
	"time"

	"im2pay/payment"
	"im2pay/problem"
)

// MethodStatus is one method as the recharge page shows it.
type MethodStatus struct {
	Method  payment.Method
	Limit   Limit
	Open    bool
	Message string    // the maintenance notice when closed
	Until   time.Time // when maintenance is expected to end (zero: unknown)
}

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
				st.Open, st.Message, st.Until = false, mt.Message, mt.Until.Time
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
				return problem.New("method", "recharge.maintenance", st.Message)
			}
			return nil
		}
	}
	return problem.New("method", "recharge.method_err")
}

// SetMaintenance turns maintenance on for a method or "all".
func (s *Service) SetMaintenance(ctx context.Context, method, message string, until time.Time) error {
	m := Maintenance{Method: method, Message: message}
	if !until.IsZero() {
		m.Until = sql.NullTime{Time: until, Valid: true}
	}
	return s.setMaintenance(ctx, m)
}

// ClearMaintenance turns maintenance off for a method or "all".
func (s *Service) ClearMaintenance(ctx context.Context, method string) error {
	return s.clearMaintenance(ctx, method)
}
