#!/usr/bin/env bash
# Runs every test against a real Postgres: GATEHOUSE_TEST_DATABASE_URL when
# set, else the server on 127.0.0.1:5432 when it answers, else a throwaway
# cluster started here and removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh

url=${GATEHOUSE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
reachable() { go run ./scripts/pgping "$1" >/dev/null 2>&1; }

if ! reachable "$url"; then
  dir=$(mktemp -d /tmp/gatehouse-test-pg.XXXXXX)
  trap 'stop_throwaway_cluster "$dir"' EXIT
  trap 'exit 130' INT TERM PIPE
  echo "test: no Postgres at the default address; starting a throwaway cluster in $dir"
  url=$(start_throwaway_cluster "$dir" 54329)
fi
export GATEHOUSE_TEST_DATABASE_URL=$url
go test -count=1 -timeout 15m "$@" ./...
