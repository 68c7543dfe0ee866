package components

import "context"

// SupportInfo is where people reach support (客服): an operator's URL
// (SUPPORT_URL) and a line of contact text (SUPPORT_CONTACT). Without a URL
// the entry opens the app's own /support page.
type SupportInfo struct {
	URL, Contact string
}

type supportKey struct{}

// WithSupport puts the support entry's configuration into ctx, once per
// request, so that any page can call Support() without threading it
// through its view.
func WithSupport(ctx context.Context, s SupportInfo) context.Context {
	return context.WithValue(ctx, supportKey{}, s)
}

// SupportOf is the configuration WithSupport put into ctx (zero: none).
func SupportOf(ctx context.Context) SupportInfo {
	s, _ := ctx.Value(supportKey{}).(SupportInfo)
	return s
}

func supportHref(ctx context.Context) string {
	if u := SupportOf(ctx).URL; u != "" {
		return u
	}
	return "/support"
}
