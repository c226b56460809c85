# thot — developer shortcuts. `make help` lists the targets.
#
# Variables you may override:  make build VERSION=1.2.3
#   GO                    go binary (default: go)
#   VERSION, COMMIT       stamped into internal/buildinfo (default: from git)
#   ARGS                  extra arguments for `make run` (e.g. ARGS="migrate status")
#   THOT_TEST_DATABASE_URL  PostgreSQL for `make test-pg`
#                         (default: postgres://postgres@127.0.0.1:5432/thot_test?sslmode=disable)

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO      ?= go
PKG     := github.com/thot-security/thot
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X $(PKG)/internal/buildinfo.Version=$(VERSION) -X $(PKG)/internal/buildinfo.Commit=$(COMMIT)

# staticcheck v0.8.2 (release 2026.2.2) is the newest on the module proxy and
# the first line that understands go1.26 (2025.1.x predates it); `go run`
# fetches and caches it on first use.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

TEST_PG_URL := postgres://postgres@127.0.0.1:5432/thot_test?sslmode=disable

.PHONY: docs help run build test test-pg lint bench ci openapi clean

help: ## list the targets
	@echo "Usage: make <target>"
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {printf "  %-9s %s\n", $$1, $$2}'

run: ## go run ./cmd/thot (serve; ARGS="..." for another command)
	$(GO) run ./cmd/thot $(ARGS)

build: ## static binary bin/thot, version-stamped
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/thot ./cmd/thot

test: ## go test ./... (SQLite only)
	$(GO) test ./...

test-pg: ## go test ./... on SQLite and PostgreSQL (THOT_TEST_DATABASE_URL, or local thot_test created if missing)
	@if [[ -n "$${THOT_TEST_DATABASE_URL:-}" ]]; then \
		url="$$THOT_TEST_DATABASE_URL"; \
	else \
		url='$(TEST_PG_URL)'; \
		echo "THOT_TEST_DATABASE_URL=$$url"; \
		if ! psql -X -w -h 127.0.0.1 -p 5432 -U postgres -d postgres -tAc \
			"SELECT 1 FROM pg_database WHERE datname = 'thot_test'" | grep -q 1; then \
			echo "createdb thot_test"; \
			createdb -w -h 127.0.0.1 -p 5432 -U postgres thot_test; \
		fi; \
	fi; \
	THOT_TEST_DATABASE_URL="$$url" $(GO) test -count=1 ./...

lint: ## go vet, gofmt check, staticcheck
	$(GO) vet ./...
	@files="$$(gofmt -l .)"; \
	if [[ -n "$$files" ]]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi
	$(GO) run $(STATICCHECK) ./...

bench: ## all benchmarks, no tests
	$(GO) test -run '^$$' -bench . -benchmem ./...

ci: ## what CI runs (bash .ci/run)
	bash .ci/run

openapi: docs ## regenerate docs/openapi.json (same as docs)

docs: ## regenerate docs/openapi.json, the route table in docs/api.md and the README configuration table
	$(GO) test ./internal/cli -run 'Current|Readme' -count=1 -update

clean: ## remove build and test output (never data/)
	rm -rf bin/ coverage.out docs/openapi.json.tmp
	find . -path ./.git -prune -o \( -name '*.test' -o -name '*.prof' \) -type f -print -exec rm -f {} +
