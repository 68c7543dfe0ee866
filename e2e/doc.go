// Package e2e drives the whole site in a real, headless Chromium: a person
// signs up, logs in, sees the balance, pages through the history and filters
// it, at desktop and phone sizes and in both languages.
//
// The tests need Chromium (Debian's /usr/bin/chromium, or the path in
// CHROMIUM_PATH) and the CJK fonts; `make deps` installs both. They save a
// full-page screenshot of every key page under out/ (or E2E_OUT), and fail on
// any JavaScript console error, uncaught exception or CSP violation.
//
// Run them with: go test -race -count=1 ./e2e/
package e2e
