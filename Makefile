# openeps — make targets. `make test` is the README's test command and what CI runs.
GO ?= go
STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo $(HOME)/go/bin/staticcheck)

.PHONY: test deps check vet staticcheck build generate bench fmt

build:
	$(GO) build -o bin/eps ./cmd/eps

# deps installs the few programs the tests use that a fresh machine lacks:
# xmllint (schema validation of HL7 V3) and, if there are no server binaries,
# PostgreSQL. It does nothing when they are there.
deps:
	@./.ci/deps

test: deps
	$(GO) test -count=1 -timeout 15m ./...

vet:
	$(GO) vet ./...

staticcheck:
	@test -x "$(STATICCHECK)" || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	$(STATICCHECK) ./...

check: vet staticcheck test
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)

generate:
	$(GO) generate ./...

bench:
	$(GO) test -run XXX -bench . -benchmem ./...

fmt:
	gofmt -w $$(git ls-files '*.go')
