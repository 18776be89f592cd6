#!/usr/bin/env bash
# Builds gatehouse and the benchmark driver, finds a Postgres the way
# make test does, and runs the benchmark; the report goes to
# docs/benchmarks.md. Extra arguments go to the driver (e.g. -duration 10s).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh

url=${GATEHOUSE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
if ! go run ./scripts/pgping "$url" >/dev/null 2>&1; then
  dir=$(mktemp -d /tmp/gatehouse-bench-pg.XXXXXX)
  trap 'stop_throwaway_cluster "$dir"' EXIT
  trap 'exit 130' INT TERM
  echo "bench: no Postgres at the default address; starting a throwaway cluster in $dir"
  url=$(start_throwaway_cluster "$dir" 54328)
fi
bin=$(mktemp -d /tmp/gatehouse-bench-bin.XXXXXX)
go build -o "$bin/gatehouse" ./cmd/gatehouse
go build -o "$bin/bench" ./test/bench
go test ./app/proxy -run '^$' -bench ChatCompletions -benchmem -count 1 | grep -E '^(Benchmark|cpu:)' > "$bin/micro.txt"
go test ./adapters/providers -run '^$' -bench Dialects -benchmem -count 1 | grep -E '^Benchmark' > "$bin/dialects.txt"
"$bin/bench" -mode run -gatehouse "$bin/gatehouse" -postgres "$url" -out docs/benchmarks.md -micro "$bin/micro.txt" -dialects "$bin/dialects.txt" "$@"
rm -rf "$bin"
