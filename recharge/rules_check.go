package recharge

import (
	"errors"
	"slices"

	"im2pay/payment"
	"im2pay/problem"
	"im2pay/wallet"
)

// Bounds of a version the console may publish: a typo must not become a
// 500% bonus or an endless preset row.
const (
	maxPresets        = 12
	maxTiers          = 10
	maxTierBasis      = 5_000      // 50%
	maxFirstBonus     = 1_000_00   // ¥1,000
	maxPerOrderAmount = 500_000_00 // ¥500,000
)

// ValidateRules refuses rules the console must not publish. Each refusal
// is a problem on the form field it concerns (catalog keys rules.*, in
// zh-CN and en), all of them joined: presets, limit_<method>, daily_max,
// tiers, first_bonus.
func ValidateRules(r Rules) error {
	var errs []error
	errs = append(errs, checkMethodLimits(r)...)
	errs = append(errs, checkPresets(r)...)
	errs = append(errs, checkTiers(r)...)
	if r.FirstBonus < 0 || r.FirstBonus > maxFirstBonus {
		errs = append(errs, problem.New("first_bonus", "rules.first_bonus", wallet.Money(maxFirstBonus).String()))
	}
	return errors.Join(errs...)
}

// checkMethodLimits: every method has 0 < min <= max, and the daily limit
// admits at least the largest single order.
func checkMethodLimits(r Rules) []error {
	var errs []error
	var largest wallet.Money
	for _, m := range payment.Methods {
		lim, ok := r.Limits[m]
		switch {
		case !ok:
			errs = append(errs, problem.New("limit_"+string(m), "rules.limit_missing"))
		case lim.Min <= 0 || lim.Max > maxPerOrderAmount:
			errs = append(errs, problem.New("limit_"+string(m), "rules.limit_range", wallet.Money(maxPerOrderAmount).String()))
		case lim.Min > lim.Max:
			errs = append(errs, problem.New("limit_"+string(m), "rules.limit_order", lim.Min.String(), lim.Max.String()))
		}
		largest = max(largest, lim.Max)
	}
	for m := range r.Limits {
		if !slices.Contains(payment.Methods, m) {
			errs = append(errs, problem.New("limit_"+string(m), "rules.limit_unknown", string(m)))
		}
	}
	if r.DailyMax < largest {
		errs = append(errs, problem.New("daily_max", "rules.daily_max", largest.String()))
	}
	return errs
}

// checkPresets: 1 to maxPresets, strictly ascending, each one some method
// accepts and the daily limit admits.
func checkPresets(r Rules) []error {
	if len(r.Presets) == 0 || len(r.Presets) > maxPresets {
		return []error{problem.New("presets", "rules.presets_count", maxPresets)}
	}
	for i, p := range r.Presets {
		if i > 0 && p <= r.Presets[i-1] {
			return []error{problem.New("presets", "rules.presets_order")}
		}
		if !anyMethodAccepts(r, p) || p > r.DailyMax {
			return []error{problem.New("presets", "rules.preset_limits", p.String())}
		}
	}
	return nil
}

func anyMethodAccepts(r Rules, amt wallet.Money) bool {
	for _, lim := range r.Limits {
		if amt >= lim.Min && amt <= lim.Max {
			return true
		}
	}
	return false
}

// checkTiers: at most maxTiers, thresholds positive and strictly
// ascending, percentages above 0 and at most 50%, never lower than a
// smaller tier's (a larger top-up must not earn a smaller rate).
func checkTiers(r Rules) []error {
	if len(r.Tiers) > maxTiers {
		return []error{problem.New("tiers", "rules.tiers_count", maxTiers)}
	}
	for i, t := range r.Tiers {
		switch {
		case t.Min <= 0:
			return []error{problem.New("tiers", "rules.tier_min")}
		case t.BasisPoints <= 0 || t.BasisPoints > maxTierBasis:
			return []error{problem.New("tiers", "rules.tier_percent", t.Min.String())}
		case i > 0 && t.Min <= r.Tiers[i-1].Min:
			return []error{problem.New("tiers", "rules.tiers_order")}
		case i > 0 && t.BasisPoints < r.Tiers[i-1].BasisPoints:
			return []error{problem.New("tiers", "rules.tiers_rate")}
		}
	}
	return nil
}
