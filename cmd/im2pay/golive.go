package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"im2pay/payment"
)

// finding is one thing a real provider, a browser or production itself
// would refuse, worded for the operator who has to fix it.
type finding struct {
	area string // "environment", "payment configuration", or a method: "alipay", "card"…
	text string
	// refusesStart marks play money and unreachable endpoints: with
	// APP_ENV=production the server does not start over them. The rest is
	// what `im2pay check` adds: things a provider would refuse later.
	refusesStart bool
}

// checklist gathers findings; one pass serves both the production start
// and `im2pay check`, so the two can never disagree where they overlap.
type checklist struct {
	cfg      config
	found    []finding
	sandbox  *sandboxFiles
	sections map[string]map[string]any // payment.json, read generically
}

// refuse records a finding that stops a production start.
func (c *checklist) refuse(area, format string, a ...any) {
	c.found = append(c.found, finding{area: area, text: fmt.Sprintf(format, a...), refusesStart: true})
}

// note records a finding for the go-live checklist only.
func (c *checklist) note(area, format string, a ...any) {
	c.found = append(c.found, finding{area: area, text: fmt.Sprintf(format, a...)})
}

// goLive runs every check against the environment and the payment
// configuration.
func goLive(cfg config) []finding {
	c := &checklist{cfg: cfg, sandbox: newSandboxFiles(filepath.Join(cfg.DataDir, "sandbox"))}
	c.environment()
	if pc, ok := c.paymentConfig(); ok {
		c.providers(pc)
	}
	return c.found
}

// refusals are the findings production refuses to start over, as one error.
func refusals(found []finding) error {
	var errs []error
	for _, f := range found {
		if f.refusesStart {
			errs = append(errs, fmt.Errorf("%s: %s", f.area, f.text))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("production refuses to start:\n%w", errors.Join(errs...))
}

func (c *checklist) environment() {
	const env = "environment"
	if !c.cfg.Production {
		c.note(env, "APP_ENV is not production: cookies are not marked Secure and none of the production refusals apply.")
	}
	if c.cfg.SandboxAddr != "" {
		c.refuse(env, "SANDBOX_ADDR is set (%s): it runs the play-money gateway and points the app at it. Unset it.", c.cfg.SandboxAddr)
	}
	if c.cfg.SeedDemo {
		c.refuse(env, "SEED_DEMO is on: it creates demo accounts with a published password and free credit. Turn it off.")
	}
	if c.cfg.DatabaseURL == "" {
		c.refuse(env, "DATABASE_URL is empty: the app would start a private PostgreSQL under %s instead of your database server.", c.cfg.DataDir)
	}
	if err := payment.CheckPublicHTTPS(c.cfg.BaseURL); err != nil {
		c.refuse(env, "BASE_URL %s %v: providers could not deliver notifications to %s/pay/notify/….", c.cfg.BaseURL, err, c.cfg.BaseURL)
	}
	for _, o := range c.cfg.FormActionOrigins {
		if err := payment.CheckPublicHTTPS(o); err != nil {
			c.refuse(env, "FORM_ACTION_ORIGINS lists %s, which %v: a page may only send the browser to public https sites.", o, err)
		}
	}
}

// paymentConfig reads the payment configuration twice: typed, for the
// fields the providers know today, and generically, so that fields added
// later (currencies, web origins, certificate files) are checked as soon
// as they appear, without this file knowing their Go types.
func (c *checklist) paymentConfig() (paymentConfig, bool) {
	const area = "payment configuration"
	path := c.cfg.PaymentConfig
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		c.refuse(area, "there is none: %s does not exist, so no payment method would be offered.", path)
		return paymentConfig{}, false
	}
	if err != nil {
		c.refuse(area, "%s cannot be read: %v.", path, err)
		return paymentConfig{}, false
	}
	var pc paymentConfig
	if err := json.Unmarshal(raw, &pc); err != nil {
		c.refuse(area, "%s is not valid JSON for the payment configuration: %v.", path, err)
		return paymentConfig{}, false
	}
	if err := json.Unmarshal(raw, &c.sections); err != nil {
		c.refuse(area, "%s must hold one object per provider: %v.", path, err)
		return paymentConfig{}, false
	}
	var names []string
	for name := range c.sections {
		names = append(names, name)
	}
	slices.Sort(names)
	known := 0
	for _, name := range names {
		if slices.Contains(payment.Methods, payment.Method(name)) {
			known++
			continue
		}
		c.note(area, "%s has a section %q, which is no payment method (%s): it is ignored.", path, name, methodList())
	}
	if known == 0 {
		c.refuse(area, "%s configures no provider, so no payment method would be offered.", path)
		return pc, false
	}
	return pc, true
}

func methodList() string {
	var s []string
	for _, m := range payment.Methods {
		s = append(s, string(m))
	}
	return strings.Join(s, ", ")
}

// printChecklist writes the findings grouped by area, one sentence each,
// and a last line that says whether going live would work.
func printChecklist(w io.Writer, cfg config, found []finding) error {
	fmt.Fprintf(w, "Going-live checklist for %s (BASE_URL %s)\n", cfg.PaymentConfig, cfg.BaseURL)
	if pc, err := readPaymentConfig(cfg.PaymentConfig); err == nil {
		// What the pages' CSP form-action will allow, for the operator to
		// compare with where their providers really send the browser.
		if origins, err := pc.formOrigins(cfg.FormActionOrigins); err == nil && len(origins) > 0 {
			fmt.Fprintf(w, "Pages may send the browser to (CSP form-action): 'self' %s\n", strings.Join(origins, " "))
		}
	}
	areas := []string{"environment", "payment configuration"}
	for _, m := range payment.Methods {
		areas = append(areas, string(m))
	}
	for _, area := range areas {
		var lines []string
		for _, f := range found {
			if f.area == area {
				lines = append(lines, f.text)
			}
		}
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", area)
		for _, l := range lines {
			fmt.Fprintf(w, "  - %s\n", l)
		}
	}
	if len(found) == 0 {
		fmt.Fprintln(w, "\nNothing a real provider would refuse was found.")
		return nil
	}
	fmt.Fprintf(w, "\n%d problem(s): fix them before going live.\n", len(found))
	return fmt.Errorf("go-live checklist: %d problem(s)", len(found))
}
