package recharge

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"im2pay/payment"
	"im2pay/problem"
	"im2pay/wallet"
)

// RulesForm is the console's edit form as typed: amounts in yuan, presets
// as "6, 30, 68", tiers as "68:5, 328:10" (from yuan : percent).
type RulesForm struct {
	Presets    string
	Tiers      string
	FirstBonus string
	LimitMin   map[payment.Method]string
	LimitMax   map[payment.Method]string
	DailyMax   string
}

// FormOfRules fills the edit form from r, to start a change from the
// version in force.
func FormOfRules(r Rules) RulesForm {
	f := RulesForm{FirstBonus: r.FirstBonus.Yuan(), DailyMax: r.DailyMax.Yuan(),
		LimitMin: map[payment.Method]string{}, LimitMax: map[payment.Method]string{}}
	var presets, tiers []string
	for _, p := range r.Presets {
		presets = append(presets, p.Yuan())
	}
	for _, t := range r.Tiers {
		tiers = append(tiers, t.Min.Yuan()+":"+percentOf(t.BasisPoints))
	}
	f.Presets, f.Tiers = strings.Join(presets, ", "), strings.Join(tiers, ", ")
	for m, lim := range r.Limits {
		f.LimitMin[m], f.LimitMax[m] = lim.Min.Yuan(), lim.Max.Yuan()
	}
	return f
}

// ParseRulesForm reads the edit form into Rules; every unreadable field is
// a problem on that field (rules.* and money.* keys), all joined. It does
// not validate the rules themselves: PublishRules does (ValidateRules).
func ParseRulesForm(f RulesForm) (Rules, error) {
	var r Rules
	var errs []error
	var err error
	if r.Presets, err = parseMoneyList(f.Presets); err != nil {
		errs = append(errs, problem.New("presets", "rules.presets_syntax"))
	}
	if r.Tiers, err = parseTiers(f.Tiers); err != nil {
		errs = append(errs, problem.New("tiers", "rules.tiers_syntax"))
	}
	if r.FirstBonus, err = parseMoneyOrZero(f.FirstBonus); err != nil {
		errs = append(errs, problem.New("first_bonus", "rules.amount_syntax"))
	}
	if r.DailyMax, err = wallet.ParseMoney(f.DailyMax); err != nil {
		errs = append(errs, problem.New("daily_max", "rules.amount_syntax"))
	}
	r.Limits = map[payment.Method]Limit{}
	for _, m := range payment.Methods {
		lo, err1 := wallet.ParseMoney(f.LimitMin[m])
		hi, err2 := wallet.ParseMoney(f.LimitMax[m])
		if err1 != nil || err2 != nil {
			errs = append(errs, problem.New("limit_"+string(m), "rules.amount_syntax"))
			continue
		}
		r.Limits[m] = Limit{Min: lo, Max: hi}
	}
	return r, errors.Join(errs...)
}

// parseMoneyOrZero is an amount in yuan, where empty and "0" mean none.
func parseMoneyOrZero(s string) (wallet.Money, error) {
	if s = strings.TrimSpace(s); s == "" || s == "0" {
		return 0, nil
	}
	return wallet.ParseMoney(s)
}

// fields splits a list on commas, Chinese commas and white space.
func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
}

func parseMoneyList(s string) ([]wallet.Money, error) {
	var out []wallet.Money
	for _, f := range fields(s) {
		m, err := wallet.ParseMoney(f)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func parseTiers(s string) ([]BonusTier, error) {
	var out []BonusTier
	for _, f := range fields(s) {
		from, pct, ok := strings.Cut(strings.ReplaceAll(f, "：", ":"), ":")
		if !ok {
			return nil, fmt.Errorf("tier %q: want yuan:percent", f)
		}
		m, err := wallet.ParseMoney(from)
		if err != nil {
			return nil, err
		}
		bp, err := parsePercent(strings.TrimSuffix(pct, "%"))
		if err != nil {
			return nil, err
		}
		out = append(out, BonusTier{Min: m, BasisPoints: bp})
	}
	return out, nil
}

// parsePercent reads "5", "2.5" or "12.75" as basis points, exactly.
func parsePercent(s string) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 || whole == "" || len(whole) > 3 {
		return 0, fmt.Errorf("percent %q: at most 3 digits and 2 decimals", s)
	}
	frac += strings.Repeat("0", 2-len(frac))
	w, err1 := strconv.ParseUint(whole, 10, 16)
	d, err2 := strconv.ParseUint(frac, 10, 8)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("percent %q: not a number", s)
	}
	return int64(w)*100 + int64(d), nil
}

// percentOf is basis points as the form writes them: "5", "2.5", "12.75".
func percentOf(bp int64) string {
	s := strconv.FormatInt(bp/100, 10)
	if frac := bp % 100; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%02d", frac), "0")
	}
	return s
}

// PercentOf is a tier's rate as the console shows it ("5%").
func PercentOf(bp int64) string { return percentOf(bp) + "%" }

// ValidFromLayout is the layout of the form's valid_from (an HTML
// datetime-local input).
const ValidFromLayout = "2006-01-02T15:04"

// ParseValidFrom reads the form's valid_from in loc (the staff member's
// zone); empty means now (the zero time, which PublishRules takes as now).
func ParseValidFrom(s string, loc *time.Location) (time.Time, error) {
	if s = strings.TrimSpace(s); s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(ValidFromLayout, s, loc)
	if err != nil {
		return time.Time{}, problem.New("valid_from", "rules.time_syntax")
	}
	return t, nil
}
