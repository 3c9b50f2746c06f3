#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and benchmarks
# (recipe: shared/design/shared-store.md, "Client and CI").
#
# Usage:
#   scripts/pg-cluster.sh start          # prints the URL as the last stdout line
#   scripts/pg-cluster.sh stop DIR       # fast stop, then remove DIR
#   scripts/pg-cluster.sh run CMD [ARG...]
#                                        # start, run CMD with BUILDCOORD_TEST_PG
#                                        # set, stop; exits with CMD's status
#
#   URL=$(scripts/pg-cluster.sh start | tail -n1)
#   BUILDCOORD_TEST_PG="$URL" npx vitest run test/bench/pgBuildbot.test.ts
#   scripts/pg-cluster.sh stop "$(sed -E 's/.*[?&]host=([^&]*).*/\1/' <<<"$URL")"
#
# Environment:
#   BUILDCOORD_PG_PORT  port (names the unix socket .s.PGSQL.PORT; default 55432).
#                       The server listens on the unix socket in DIR only
#                       (listen_addresses=''), so clusters in different DIRs
#                       may share a port.
#   BUILDCOORD_PG_TMP   parent of the temp dir (default /tmp; the socket path
#                       must stay under ~100 bytes).
#   PGBIN               PostgreSQL binaries (default /usr/lib/postgresql/15/bin).
#
# The cluster: initdb -N -k (no fsync during initdb, data checksums),
# trust auth, UTF8, C.UTF-8; fsync and synchronous_commit left on (defaults);
# shared_preload_libraries=pg_stat_statements with track=all, and the
# extension created in database "postgres", so per-statement times can be read
# from pg_stat_statements. As root, the server runs as user "postgres"
# (initdb refuses root); otherwise as the calling user.
set -euo pipefail
shopt -s inherit_errexit

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PORT=${BUILDCOORD_PG_PORT:-55432}
PARENT=${BUILDCOORD_PG_TMP:-/tmp}
MARKER=.bc-pg-cluster

log() { printf 'pg-cluster: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

usage() {
  sed -n '4,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Run a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

ensure_installed() {
  if [ -x "$PGBIN/initdb" ]; then return 0; fi
  [ "$(id -u)" -eq 0 ] || die "$PGBIN/initdb missing and not root: install postgresql-15"
  log "installing postgresql-15"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >&2
  [ -x "$PGBIN/initdb" ] || die "postgresql-15 installed but $PGBIN/initdb is missing"
}

cmd_start() {
  case "$PORT" in ''|*[!0-9]*) die "BUILDCOORD_PG_PORT must be a number: $PORT" ;; esac
  ensure_installed
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "no 'postgres' user (install postgresql-15 or run as non-root)"
  fi

  local dir
  dir=$(mktemp -d "$PARENT/bc-pg.XXXXXX")
  local sock="$dir/.s.PGSQL.$PORT"
  if [ "${#sock}" -gt 100 ]; then
    rm -rf "$dir"
    die "socket path too long (${#sock} bytes): $sock; set BUILDCOORD_PG_TMP shorter"
  fi
  : >"$dir/$MARKER"
  chmod 0755 "$dir"
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$dir"

  # From here on, any failure removes the half-made cluster.
  trap 'rc=$?; if [ $rc -ne 0 ]; then
          log "start failed; server log:"; tail -n 20 "'"$dir"'/log" >&2 2>/dev/null || true
          as_owner "$PGBIN/pg_ctl" -D "'"$dir"'/data" -m immediate stop >/dev/null 2>&1 || true
          rm -rf "'"$dir"'"; fi' EXIT

  log "initdb in $dir/data"
  as_owner "$PGBIN/initdb" -N -k -D "$dir/data" -U postgres --auth=trust \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }

  log "starting on $sock"
  as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 \
    -o "-p $PORT -k $dir -c listen_addresses='' -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all" \
    start >/dev/null

  as_owner "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$PORT" -U postgres -d postgres \
    -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >&2

  trap - EXIT
  log "started; stop with: $0 stop $dir"
  printf 'postgresql://postgres@/postgres?host=%s&port=%s\n' "$dir" "$PORT"
}

cmd_stop() {
  local dir=${1:-}
  [ -n "$dir" ] || die "usage: $0 stop DIR"
  dir=${dir%/}
  [ -d "$dir" ] || die "no such directory: $dir"
  # Never rm -rf something this script did not make.
  [ -f "$dir/$MARKER" ] || die "$dir was not made by $0 (no $MARKER); not removing"
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null \
      || as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null \
      || log "pg_ctl stop failed for $dir/data"
  fi
  rm -rf "$dir"
  log "stopped and removed $dir"
}

cmd_run() {
  [ $# -gt 0 ] || die "usage: $0 run CMD [ARG...]"
  local url dir rc=0
  url=$(cmd_start | tail -n1)
  dir=${url#*host=}; dir=${dir%%&*}
  trap 'cmd_stop "'"$dir"'"' EXIT
  BUILDCOORD_TEST_PG=$url "$@" || rc=$?
  exit "$rc"
}

case "${1:-}" in
  start) shift; [ $# -eq 0 ] || usage; cmd_start ;;
  stop) shift; [ $# -eq 1 ] || usage; cmd_stop "$1" ;;
  run) shift; cmd_run "$@" ;;
  -h|--help|help) usage ;;
  *) usage ;;
esac
