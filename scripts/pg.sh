# Helpers to find Postgres binaries and run a private cluster. Sourced by
# scripts/test.sh; gatehouse dev does the same in Go.

pg_bindir() {
  if command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"
    return
  fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

# as_pg_owner runs a command as the cluster owner: initdb and postgres
# refuse to run as root, so root hands them to the postgres system user.
as_pg_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# start_throwaway_cluster DIR PORT: a trust-auth cluster listening only on a
# socket in DIR. Prints the maintenance URL.
start_throwaway_cluster() {
  local dir=$1 port=$2 bin
  bin=$(pg_bindir) || true
  if [ -z "$bin" ]; then
    echo "PostgreSQL is not installed (no initdb found); install it: apt-get install -y postgresql" >&2
    return 1
  fi
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  chmod 700 "$dir"
  as_pg_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  as_pg_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$dir' -p $port -c fsync=off -c max_connections=300" start >/dev/null \
    || { cat "$dir/server.log" >&2; return 1; }
  echo "postgres://postgres@/postgres?host=$dir&port=$port&sslmode=disable"
}

stop_throwaway_cluster() {
  local dir=$1 bin
  bin=$(pg_bindir) || return 0
  as_pg_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
