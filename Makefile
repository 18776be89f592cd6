SQLC := go tool -modfile=tools/go.mod sqlc

.PHONY: run test bench build lint generate check-generated

## run: start gatehouse locally (private Postgres unless DATABASE_URL is set)
run:
	go run ./cmd/gatehouse dev

## test: every test, against a real Postgres (started when none is reachable)
test:
	scripts/test.sh

## bench: proxy overhead and event-writer throughput, written to docs/benchmarks.md
bench:
	scripts/bench.sh

build:
	go build -o bin/gatehouse ./cmd/gatehouse

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...

generate:
	$(SQLC) generate

check-generated:
	$(SQLC) diff || { echo "sqlc output is stale: run make generate and commit"; exit 1; }
