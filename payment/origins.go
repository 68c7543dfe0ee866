package payment

import (
	"fmt"
	"net/url"
	"strings"
)

// Web origins are the sites a person's browser passes through on its way
// to pay and back: a provider's cashier or approve pages, which live on
// other hosts than its API (PROVIDERS.md §1.7, §2.7, §3.7, §4.7). Our pages'
// CSP form-action must list every one of them, because Chrome applies
// form-action to each redirect that follows a form submission (MDN, CSP
// form-action): our "pay" form posts to us, we redirect to the provider's
// gateway, and the gateway redirects on to its cashier.
//
// Each provider section of the payment configuration has a web_origins
// list. Left out (JSON null or absent), the provider's documented production
// hosts apply; given, exactly the listed origins apply, so the sandbox's
// second origin (or a provider's own sandbox hosts) replaces them.

// Origin normalises raw to scheme://host[:port], lower case, and refuses
// anything that is not an http(s) origin: a path, a query, a fragment or a
// user name would make CSP match something else than the operator meant.
func Origin(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not an origin such as https://www.paypal.com", raw)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return "", fmt.Errorf("%q is not an http(s) origin", raw)
	case u.User != nil:
		return "", fmt.Errorf("%q carries a user name", raw)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", fmt.Errorf("%q has more than an origin (scheme://host[:port])", raw)
	}
	return scheme + "://" + strings.ToLower(u.Host), nil
}

// WebOrigins returns the origins configured (nil: defaults) normalised,
// or the first malformed one as an error naming the provider.
func WebOrigins(provider string, configured, defaults []string) ([]string, error) {
	if configured == nil {
		return defaults, nil
	}
	out := make([]string, 0, len(configured))
	for _, raw := range configured {
		o, err := Origin(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: web_origins: %w", provider, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// FormOrigins is what one provider adds to CSP form-action: the origin of
// its API (a form or redirect goes there first for Alipay and UnionPay)
// followed by its web origins, without duplicates.
func FormOrigins(apiURL string, web []string) []string {
	var out []string
	add := func(o string) {
		for _, have := range out {
			if have == o {
				return
			}
		}
		out = append(out, o)
	}
	if u, err := url.Parse(apiURL); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		add(strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host))
	}
	for _, o := range web {
		add(o)
	}
	return out
}
