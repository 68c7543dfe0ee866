package console

import (
	"context"
	"time"

	"im2pay/views/i18n"
)

// orderSeconds is a moment to the second in the reader's zone: a
// provider's notifications and our queries are often seconds apart.
func orderSeconds(ctx context.Context, t time.Time) string {
	return t.In(i18n.Location(ctx)).Format(time.DateTime)
}
