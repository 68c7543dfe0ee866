// Package i18n is the locale catalog: every string a person reads, in
// zh-CN first and English, and the formatting of dates and money for them.
package i18n

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Lang is a supported language tag.
type Lang string

// Supported languages; Chinese is the default.
const (
	ZH Lang = "zh-CN"
	EN Lang = "en"
)

// Langs lists the supported languages in switcher order.
var Langs = []Lang{ZH, EN}

// Parse returns the supported Lang named by s, if any.
func Parse(s string) (Lang, bool) {
	switch strings.ToLower(s) {
	case "zh-cn", "zh", "zh-hans", "zh-hans-cn":
		return ZH, true
	case "en", "en-us", "en-gb":
		return EN, true
	}
	return "", false
}

// Match picks a language from an Accept-Language header, honouring q-values
// and falling back to Chinese. Any zh-* and any en-* count.
func Match(header string) Lang {
	best, bestQ := ZH, -1.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
		var l Lang
		switch primary {
		case "zh":
			l = ZH
		case "en":
			l = EN
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

type ctxKey struct{}

type locale struct {
	lang Lang
	loc  *time.Location
}

// WithLocale stores the reader's language and time zone in ctx; views read
// them through T and the formatters.
func WithLocale(ctx context.Context, lang Lang, loc *time.Location) context.Context {
	return context.WithValue(ctx, ctxKey{}, locale{lang: lang, loc: loc})
}

func from(ctx context.Context) locale {
	if l, ok := ctx.Value(ctxKey{}).(locale); ok && l.loc != nil {
		return l
	}
	return locale{lang: ZH, loc: time.UTC}
}

// LangOf returns the reader's language.
func LangOf(ctx context.Context) Lang { return from(ctx).lang }

// T translates key for the reader, filling fmt placeholders from args. An
// unknown key shows itself, so a gap is visible rather than blank; a test
// keeps every key used in the code present in the catalog.
func T(ctx context.Context, key string, args ...any) string {
	return Lookup(LangOf(ctx), key, args...)
}

// Lookup translates key for lang.
func Lookup(lang Lang, key string, args ...any) string {
	texts, ok := catalog[key]
	if !ok {
		return key
	}
	s := texts.zh
	if lang == EN {
		s = texts.en
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, localized(lang, args)...)
	}
	return s
}

// Localizer is an argument that has a text of its own in each language (a
// maintenance notice typed in Chinese and English): T fills it in the
// reader's. The method takes a plain string so the domains need not
// import this package.
type Localizer interface{ Localize(lang string) string }

func localized(lang Lang, args []any) []any {
	var out []any
	for i, a := range args {
		if l, ok := a.(Localizer); ok {
			if out == nil {
				out = append([]any(nil), args...)
			}
			out[i] = l.Localize(string(lang))
		}
	}
	if out == nil {
		return args
	}
	return out
}

// Has reports whether key is in the catalog.
func Has(key string) bool { _, ok := catalog[key]; return ok }

// Keys lists every catalog key (for tests).
func Keys() []string {
	out := make([]string, 0, len(catalog))
	for k := range catalog {
		out = append(out, k)
	}
	return out
}

// DateTime formats t in the reader's zone: "2026-11-24 14:05".
func DateTime(ctx context.Context, t time.Time) string {
	return t.In(from(ctx).loc).Format("2006-01-02 15:04")
}

// Clock formats a moment as the hour and minute in the reader's zone.
func Clock(ctx context.Context, t time.Time) string {
	return t.In(from(ctx).loc).Format("15:04")
}

// Date formats t as a date in the reader's zone.
func Date(ctx context.Context, t time.Time) string {
	return t.In(from(ctx).loc).Format("2006-01-02")
}

// Location returns the reader's time zone.
func Location(ctx context.Context) *time.Location { return from(ctx).loc }
