package components

import (
	"context"
	"errors"

	"im2pay/views/i18n"
	"im2pay/wallet"
)

// Problems are a form's refusals by field name ("" for the whole form).
type Problems map[string]*wallet.Problem

// ProblemsOf collects the *wallet.Problem values in err (joined errors
// included); the first problem per field wins. ok is false when err holds
// none: then it is not the person's mistake and must not be shown to them.
func ProblemsOf(err error) (Problems, bool) {
	out := Problems{}
	collect(err, out)
	return out, len(out) > 0
}

func collect(err error, out Problems) {
	if err == nil {
		return
	}
	var p *wallet.Problem
	if errors.As(err, &p) && p == err {
		if _, seen := out[p.Field]; !seen {
			out[p.Field] = p
		}
		return
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			collect(e, out)
		}
		return
	}
	if errors.As(err, &p) {
		collect(p, out)
	}
}

// ProblemText translates a problem for the reader.
func ProblemText(ctx context.Context, p *wallet.Problem) string {
	return i18n.T(ctx, p.Code, p.Args...)
}
