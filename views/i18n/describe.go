package i18n

import (
	"context"
	"strings"
)

// Describe names a ledger transaction by its description: a catalog code
// ("welcome_grant"), or a code and the one text it shows, written
// "code:text" (an adjustment's reason as staff typed it, "adjustment:…").
// The text is an argument, never a format, so a reason with % in it shows
// as typed. A code the catalog lacks shows as it is.
func Describe(ctx context.Context, description string) string {
	code, arg, hasArg := strings.Cut(description, ":")
	key := "desc." + code
	switch {
	case !Has(key):
		return description
	case hasArg:
		return T(ctx, key, arg)
	}
	return T(ctx, key)
}
