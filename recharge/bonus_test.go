package recharge

import "testing"

// The history names a top-up's bonus line by the bonus it holds.
func TestBonusDescriptionNamesTheBonusTheLineHolds(t *testing.T) {
	for _, c := range []struct {
		tier, first int64
		want        string
	}{
		{340, 0, "recharge_bonus"},         // a tier's alone
		{0, 600, "first_bonus"},            // the first top-up's alone
		{340, 600, "recharge_first_bonus"}, // both, in one transaction
	} {
		if got := bonusDescription(Order{TierBonus: c.tier, FirstBonus: c.first}); got != c.want {
			t.Errorf("tier %d, first %d: %q, want %q", c.tier, c.first, got, c.want)
		}
	}
}
