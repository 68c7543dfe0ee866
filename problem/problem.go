// Package problem is the refusal every domain package returns for input a
// person can correct. It sits below the domains so that account, wallet and
// the rest return one type, which the handlers and views find with
// errors.As.
package problem

import (
	"fmt"
	"strings"
)

// Problem is a refusal the user can understand, as opposed to a failure of
// ours: the handlers show a Problem next to the form field it belongs to and
// hide every other error behind a generic page. Code is a locale catalog key
// (the views translate it, so the domain never chooses a language), Args fill
// its placeholders, and Field names the form field ("" for the whole form).
type Problem struct {
	Field string
	Code  string
	Args  []any
}

// Error renders the problem for logs and developers, never for the person:
// "wallet: <code> <args>", the prefix Problems had before this package,
// kept so that logs read as before. The translated text comes from the
// catalog.
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString("wallet: ")
	b.WriteString(p.Code)
	for _, a := range p.Args {
		b.WriteByte(' ')
		fmt.Fprint(&b, a)
	}
	return b.String()
}

// New builds a Problem; it returns the pointer type so that callers can
// return it as an error and the views can find it with errors.As.
func New(field, code string, args ...any) *Problem {
	return &Problem{Field: field, Code: code, Args: args}
}
