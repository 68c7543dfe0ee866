package i18n

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"im2pay/ledger"
	"im2pay/payment"
)

func TestNoKeyIsDefinedInTwoAreas(t *testing.T) {
	if len(duplicateKeys) > 0 {
		t.Fatalf("keys defined in more than one catalog file: %v", duplicateKeys)
	}
}

func TestEveryStringExistsInBothLanguagesWithTheSamePlaceholders(t *testing.T) {
	verbs := regexp.MustCompile(`%[dsv]`)
	for key, tx := range catalog {
		if strings.TrimSpace(tx.zh) == "" || strings.TrimSpace(tx.en) == "" {
			t.Errorf("%s: missing a language: %+v", key, tx)
		}
		if z, e := verbs.FindAllString(tx.zh, -1), verbs.FindAllString(tx.en, -1); strings.Join(z, "") != strings.Join(e, "") {
			t.Errorf("%s: placeholders differ: zh %v en %v", key, z, e)
		}
	}
}

// keyUses finds catalog keys written as literals in the code: translations,
// problem codes, page titles, and the kind/description prefixes.
var keyUses = []*regexp.Regexp{
	regexp.MustCompile(`i18n\.T\(ctx, "([a-z_.0-9-]+)"`),
	regexp.MustCompile(`NewProblem\([^,()]+, "([a-z_.0-9]+)"`),
	regexp.MustCompile(`s\.shell\(c, "([a-z_.0-9]+)"`),
	regexp.MustCompile(`(?:Description|description): +"([a-z_]+)"`),
	regexp.MustCompile(`"grant:[^"]*", "([a-z_]+)"\)`),
	regexp.MustCompile(`TitleKey: +"([a-z_.0-9]+)"`),
}

func TestEveryKeyTheCodeUsesIsInTheCatalog(t *testing.T) {
	root := filepath.Join("..", "..")
	found := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || strings.HasSuffix(path, "_templ.go") || strings.HasSuffix(path, "_test.go") ||
			!(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".templ")) {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, re := range keyUses {
			for _, m := range re.FindAllStringSubmatch(string(src), -1) {
				found++
				key := m[1]
				if strings.HasSuffix(key, ".") || strings.HasSuffix(key, "_") {
					continue // a prefix completed at run time, checked below
				}
				if strings.Contains(re.String(), "escription") || strings.Contains(re.String(), "grant:") {
					key = "desc." + key
				}
				if !Has(key) {
					t.Errorf("%s uses %q, which the catalog lacks", path, key)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 50 {
		t.Fatalf("found only %d key uses: the patterns no longer match the code", found)
	}
}

func TestAcceptLanguagePicksTheBestSupportedLanguage(t *testing.T) {
	cases := map[string]Lang{
		"":                        ZH,
		"en-US,en;q=0.9":          EN,
		"zh-TW,zh;q=0.9,en;q=0.8": ZH,
		"fr-FR,en;q=0.5":          EN,
		"de-DE":                   ZH,
		"en;q=0.3,zh-CN;q=0.7":    ZH,
		"EN-gb":                   EN,
		"en;q=garbage,zh;q=0.1":   EN,
	}
	for header, want := range cases {
		if got := Match(header); got != want {
			t.Errorf("Match(%q) = %s, want %s", header, got, want)
		}
	}
}

func TestEveryPaymentMethodHasItsStrings(t *testing.T) {
	for _, m := range payment.Methods {
		for _, key := range []string{"method." + string(m), "desc.topup_" + string(m)} {
			if !Has(key) {
				t.Errorf("%s is missing", key)
			}
		}
	}
	for _, r := range []payment.Reason{payment.ReasonWrongDetails, payment.ReasonDeclined, payment.ReasonNoFunds,
		payment.ReasonRestricted, payment.ReasonOverLimit, payment.ReasonCancelled, payment.ReasonProviderError} {
		if !Has("reason."+string(r)) || !Has("action."+string(r)) {
			t.Errorf("reason %s lacks its message or action", r)
		}
	}
}

func TestEveryLedgerKindHasALabel(t *testing.T) {
	for _, k := range ledger.Kinds {
		if !Has("kind." + string(k)) {
			t.Errorf("kind.%s is missing", k)
		}
	}
}
