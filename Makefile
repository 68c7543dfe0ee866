# IM2.0 Pay. `make help` lists the targets.
# GNU make. Targets run one at a time, in the order they are named.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.NOTPARALLEL:
.DELETE_ON_ERROR:

# Browser tests drive Debian's Chromium (installed by `make deps`).
export CHROMIUM_PATH ?= /usr/bin/chromium
# Browserslist's "caniuse-lite is outdated" nag: the pinned lockfile decides.
export BROWSERSLIST_IGNORE_OLD_DATA := 1

TAILWIND := node_modules/.bin/tailwindcss
HTMX_DIST := node_modules/htmx.org/dist/htmx.min.js
# htmx's SSE extension (the live balance), pinned in package.json.
SSE_DIST := node_modules/htmx-ext-sse/dist/sse.min.js
# axe-core runs only inside the browser tests (e2e/a11y_test.go embeds it):
# it lives under e2e/testdata, never under static/, so it is not served.
AXE_DIST := node_modules/axe-core/axe.min.js
# staticcheck 2026.2.2, the first release line that knows Go 1.26.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

# What check-generated compares before and after regenerating: a checksum of
# every file under views/ and static/, tracked or not (ignored ones aside).
GEN_SUMS := git ls-files -z --cached --others --exclude-standard -- views static e2e/testdata/axe.min.js | \
	xargs -0r sha256sum 2>/dev/null || true

.PHONY: help deps node-deps generate css vendor-js build run test test-loaded fuzz chaos check-generated lint bench screens clean

# Where the security and chaos suites write their counts (internal/figures).
FIGURES_DIR := $(CURDIR)/.data/figures

help: ## list the targets
	@echo "Usage: make TARGET"
	@echo
	@grep -E '^[a-zA-Z_-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | \
		awk 'BEGIN { FS = ":.*## " } { printf "  %-16s %s\n", $$1, $$2 }'

deps: ## install PostgreSQL, Chromium, CJK fonts, the npm packages and a C compiler (for -race) when missing
	.ci/install-deps postgres browser node cc

node-deps: ## install the npm packages (Tailwind CSS, htmx) when missing or stale
	.ci/install-deps node

generate: ## regenerate the templ components (views/**/*_templ.go)
	go tool templ generate -path views

css: node-deps ## build static/css/app.css with Tailwind
	$(TAILWIND) -c tailwind.config.js -i static/css/input.css -o static/css/app.css --minify

vendor-js: node-deps ## copy htmx.min.js and its SSE extension from node_modules to static/js/ (and axe.min.js to e2e/testdata/)
	cp $(HTMX_DIST) static/js/htmx.min.js
	cp $(SSE_DIST) static/js/sse.min.js
	cp $(AXE_DIST) e2e/testdata/axe.min.js

build: generate css ## build bin/im2pay
	go build -o bin/im2pay ./cmd/im2pay

# run builds without css: the committed CSS serves as it is (make test fails
# when it is stale), so running needs no npm; after changing classes, run
# make css.
run: ## serve on http://127.0.0.1:8080 with a private PostgreSQL under .data/, the sandbox gateway on :8090 and the demo account
	.ci/install-deps postgres
	$(MAKE) --no-print-directory generate
	go build -o bin/im2pay ./cmd/im2pay
	exec env SEED_DEMO=1 SANDBOX_ADDR=127.0.0.1:8090 METRICS_ADDR=127.0.0.1:9464 ./bin/im2pay serve

test: deps check-generated lint ## install what is missing, check generated files, lint (gofmt, vet, staticcheck), run every test (security suite and short chaos included), fuzz each target 30 s
	rm -rf $(FIGURES_DIR)
	IM2_FIGURES_DIR=$(FIGURES_DIR) go test -race -count=1 -timeout 50m ./...
	.ci/fuzz
	.ci/figures $(FIGURES_DIR)

test-loaded: ## make test with two CPU-bound processes beside it (the suite must not depend on the machine's speed)
	.ci/loaded

chaos: deps ## the chaos suite in full (30 SIGKILL cycles, a minute of pg_terminate_backend, Toxiproxy, ...), then its counts
	rm -rf $(FIGURES_DIR)
	IM2_FIGURES_DIR=$(FIGURES_DIR) go test -race -count=1 -timeout 40m ./chaos -args -chaos.full
	.ci/figures $(FIGURES_DIR)

fuzz: ## run every fuzz target for FUZZTIME (30s) each, two at a time
	.ci/fuzz

check-generated: ## fail when committed templ output, CSS, htmx and its SSE extension, or axe-core is stale
	@before="$$($(GEN_SUMS))"; \
	$(MAKE) --no-print-directory generate css vendor-js; \
	after="$$($(GEN_SUMS))"; \
	changed="$$(diff <(echo "$$before") <(echo "$$after") | sed -n 's/^> [0-9a-f]*  //p' || true)"; \
	if [ -n "$$changed" ]; then \
		echo >&2; \
		echo "check-generated: regenerating changed:" >&2; \
		sed 's/^/  /' <<<"$$changed" >&2; \
		echo "The committed generated files were stale: run \`make generate css vendor-js\` and commit the result." >&2; \
		exit 1; \
	fi; \
	echo "check-generated: templ output, app.css, htmx.min.js, sse.min.js and axe.min.js are current"

lint: ## gofmt, go vet and staticcheck
	@unformatted="$$(find . \( -name node_modules -o -name .data -o -name .git \) -prune -o -name '*.go' -print0 | xargs -0r gofmt -l)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt: these files need formatting (run gofmt -w):" >&2; \
		echo "$$unformatted" >&2; \
		exit 1; \
	fi
	go vet ./...
	go run $(STATICCHECK) ./...

screens: deps ## retake the README's screenshots (docs/screens/: recharge, result, receipt, account; zh-CN and en; desktop and phone)
	mkdir -p docs/screens
	IM2_SCREENS_DIR=$(CURDIR)/docs/screens go test -count=1 -run 'TestReceiptJourneys' ./e2e

bench: ## measure figures 1-8c of BENCHMARKS.md (3b: two app instances; 8a-8c: sealing) as ratios in one run (own PostgreSQL under .data/bench; the first run loads 10M entries)
	.ci/install-deps postgres
	go run ./cmd/im2bench -md .data/bench/latest.md $(BENCH_ARGS)

clean: ## remove build output (bin/); never touches .data/
	rm -rf bin
