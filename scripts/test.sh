#!/usr/bin/env bash
# Runs every test against a real Postgres: GATEHOUSE_TEST_DATABASE_URL when
# set, else the server on 127.0.0.1:5432 when it answers, else a throwaway
# cluster started here and removed afterwards. Likewise for Redis (the
# cache's other store): GATEHOUSE_TEST_REDIS_URL, else 127.0.0.1:6379, else
# a throwaway redis-server when one is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh

url=${GATEHOUSE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
reachable() { go run ./scripts/pgping "$1" >/dev/null 2>&1; }

dir="" redis_dir=""
cleanup() {
  if [ -n "$dir" ]; then stop_throwaway_cluster "$dir"; fi
  if [ -n "$redis_dir" ]; then
    kill "$(cat "$redis_dir/pid" 2>/dev/null)" 2>/dev/null || true
    rm -rf "$redis_dir"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM PIPE

if ! reachable "$url"; then
  dir=$(mktemp -d /tmp/gatehouse-test-pg.XXXXXX)
  echo "test: no Postgres at the default address; starting a throwaway cluster in $dir"
  url=$(start_throwaway_cluster "$dir" 54329)
fi
export GATEHOUSE_TEST_DATABASE_URL=$url

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -z "${GATEHOUSE_TEST_REDIS_URL:-}" ]; then
  if port_open 6379; then
    export GATEHOUSE_TEST_REDIS_URL=redis://127.0.0.1:6379/15
  elif command -v redis-server >/dev/null; then
    redis_dir=$(mktemp -d /tmp/gatehouse-test-redis.XXXXXX)
    redis-server --port 63799 --bind 127.0.0.1 --save '' --appendonly no --dir "$redis_dir" \
      --daemonize yes --pidfile "$redis_dir/pid" --logfile "$redis_dir/log" >/dev/null
    for _ in $(seq 50); do port_open 63799 && break; sleep 0.1; done
    export GATEHOUSE_TEST_REDIS_URL=redis://127.0.0.1:63799/0
  else
    echo "test: no Redis and no redis-server: the Redis cache's tests are skipped"
  fi
fi
go test -count=1 -timeout 15m "$@" ./...
