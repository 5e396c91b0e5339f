#!/usr/bin/env bash
# bench/profile.sh: CPU flamegraphs of auth-server under one wrk load, the
# SVGs kept in docs/perf/ (what each shows: docs/perf/README.md).
#
#   bench/profile.sh [--postgres] [ROUTE]    ROUTE: protected (default), me, sessions, health,
#                                            or login-flood (POST /login from 32 connections, ln=15)
#                                            or login-storm (POST /login from 1,000 connections,
#                                            ln=17: bench row 6, the refusal storm)
#
# Builds the release server (as bench/run.sh), starts it on a fresh SQLite
# file (or a fresh PostgreSQL database with --postgres), logs one user in,
# runs wrk -t2 -c64 on GET /ROUTE with the bearer token, and records the
# server with `perf record -F 499 --call-graph dwarf` for 5 s in the middle
# of it. Folds the stacks with inferno (cargo install inferno) and writes
# docs/perf/<backend>-<route>.svg; the folded stacks go to
# bench/results/<backend>-<route>.folded.txt (gitignored), from which shares
# per frame can be summed. Needs perf (Debian linux-perf) and wrk.
set -euo pipefail
backend=sqlite route=protected
for arg in "$@"; do
  case "$arg" in
    --postgres) backend=postgres ;;
    protected | me | sessions | health | login-flood | login-storm) route=$arg ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/auth-target}"
pg_base="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
command -v perf > /dev/null || { echo "perf is needed (apt-get install linux-perf)" >&2; exit 1; }
command -v inferno-flamegraph > /dev/null || cargo install inferno --locked
(cd "$root" && cargo build --release -p auth-api -p auth-bench)
tmp=$(mktemp -d)
db=""
cleanup() {
  [ -n "${srv:-}" ] && kill "$srv" 2> /dev/null && wait "$srv" 2> /dev/null
  [ -n "$db" ] && psql "$pg_base/postgres" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" > /dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
cp "$CARGO_TARGET_DIR/release/auth-server" "$CARGO_TARGET_DIR/release/free_port" "$tmp/"
port=$("$tmp/free_port")
if [ "$backend" = postgres ]; then
  db="auth_profile_$$"
  psql "$pg_base/postgres" -qAtc "CREATE DATABASE $db" > /dev/null
  url="$pg_base/$db"
else
  url="sqlite://$tmp/auth.db"
fi
log_n=15
extra=()
if [ "$route" = login-storm ]; then
  # As bench/run.sh's row 6: ln=17, the session cap out of the way, and
  # file descriptors for a thousand connections.
  log_n=17 extra=(--max-sessions-per-user 1000000)
  ulimit -n 20000
fi
"$tmp/auth-server" --bind "127.0.0.1:$port" --database-url "$url" --log warn --scrypt-log-n "$log_n" \
  "${extra[@]}" > "$tmp/server.log" 2>&1 &
srv=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/health" > /dev/null && break; sleep 0.1; done
body='{"username":"profiled","password":"correct horse battery staple"}'
curl -fs -H 'content-type: application/json' -d "$body" "http://127.0.0.1:$port/register" > /dev/null
token=$(curl -fs -H 'content-type: application/json' -d "$body" "http://127.0.0.1:$port/login" |
  sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
if [ "$route" = login-flood ] || [ "$route" = login-storm ]; then
  # As bench/run.sh's rows 2 and 6: one account, the right password, 32 or
  # 1,000 connections.
  conns=32
  [ "$route" = login-storm ] && conns=1000
  wrk -t2 -c"$conns" -d12s --timeout 60s -s "$root/bench/lua/login.lua" "http://127.0.0.1:$port/login" \
    -- profiled "correct horse battery staple" > "$tmp/wrk.txt" &
else
  wrk -t2 -c64 -d12s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/$route" > "$tmp/wrk.txt" &
fi
load=$!
sleep 4
perf record -F 499 --call-graph dwarf,16384 -p "$srv" -o "$tmp/perf.data" -- sleep 5 2> /dev/null
wait "$load"
out="$root/docs/perf/$backend-$route"
folded="$root/bench/results/$backend-$route.folded.txt"
mkdir -p "$root/bench/results"
perf script -i "$tmp/perf.data" 2> /dev/null | inferno-collapse-perf > "$folded"
title="auth-server GET /$route, $backend, wrk -c64"
[ "$route" = login-flood ] && title="auth-server POST /login flood, $backend, ln=15, wrk -c32"
[ "$route" = login-storm ] && title="auth-server POST /login storm (bench row 6), $backend, ln=17, wrk -c1000"
inferno-flamegraph --title "$title ($(date -u +%F))" \
  < "$folded" > "$out.svg"
grep -E 'Requests/sec' "$tmp/wrk.txt"
echo "wrote $out.svg ($(wc -l < "$folded") distinct stacks; folded: $folded)"
