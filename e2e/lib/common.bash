# Shared helpers for the end-to-end checks (e2e/*.sh). Sourced, not run:
# the name does not end in .sh so .ci/run's `e2e/*.sh` loop skips it.
#
# What a check script does with it:
#   source "$(dirname "$0")/lib/common.bash"
#   e2e_init browser                 # names the check, installs the EXIT trap
#   e2e_build_server                 # cargo build --release -p auth-api (no-op when fresh)
#   e2e_start_server                 # free port, fresh SQLite DB, waits for /health
#   ... uses $E2E_BASE_URL ...
#   e2e_pass "what passed" / e2e_fail "what failed"
# A check that runs several servers (scale-out.sh, outage.sh) starts each by
# name instead: see "auth-server instances" below.
# On exit (any exit) the trap stops every server and helper process the check
# started, removes the temp dir and prints "<check>: PASS|FAIL" plus an
# "N passed, N failed" line.
#
# Environment knobs:
#   AUTH_SERVER_BIN   use this binary instead of building one
#   CARGO_TARGET_DIR  build cache (default ~/.cache/auth-target, as .ci/run)
#   E2E_KEEP_TMP=1    keep the temp dir (DB, server log) for debugging

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
E2E_ROOT=$(cd "$E2E_DIR/.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/auth-target}"

E2E_NAME=""
E2E_PASSED=0
E2E_FAILED=0
E2E_TMP=""
E2E_SERVER_PID=""
E2E_BASE_URL=""
# Every background process of the check, by name (see "auth-server instances").
declare -gA E2E_PID=() E2E_LOG=() E2E_URL=() E2E_PORT=()
E2E_START=$SECONDS

e2e_log() { printf '[%s %3ss] %s\n' "$E2E_NAME" "$((SECONDS - E2E_START))" "$*"; }

e2e_pass() { E2E_PASSED=$((E2E_PASSED + 1)); e2e_log "ok: $*"; }
e2e_fail() { E2E_FAILED=$((E2E_FAILED + 1)); e2e_log "FAILED: $*"; }

# Runs one check program: e2e_step "label" cmd args...
# If the program's output has a line "<name>: N passed, M failed", those
# counts are added to the totals; otherwise the program counts as one check,
# passed or failed by its exit status. A non-zero exit is always a failure.
e2e_step() {
  local label=$1 rc=0 out counts p f
  shift
  out="$E2E_TMP/step.$RANDOM.out"
  "$@" 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}
  counts=$(grep -E '^[A-Za-z0-9_ -]+: [0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1 |
    sed -E 's/^.*: ([0-9]+) passed, ([0-9]+) failed.*$/\1 \2/' || true)
  if [ -n "$counts" ]; then
    read -r p f <<<"$counts"
    E2E_PASSED=$((E2E_PASSED + p))
    E2E_FAILED=$((E2E_FAILED + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
      E2E_FAILED=$((E2E_FAILED + 1))
    fi
  elif [ "$rc" -eq 0 ]; then
    E2E_PASSED=$((E2E_PASSED + 1))
  else
    E2E_FAILED=$((E2E_FAILED + 1))
  fi
  if [ "$rc" -eq 0 ]; then
    e2e_log "ok: $label"
  else
    e2e_log "FAILED: $label (exit $rc)"
  fi
  return 0
}

e2e_init() {
  E2E_NAME=$1
  E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/auth-e2e-$E2E_NAME.XXXXXX")
  trap e2e_on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Stops a process this script started: TERM, then KILL after 5 s, then reaps
# it. An empty or finished pid is fine.
e2e_stop_pid() {
  local pid=$1
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# psql as the administrator on the server at $PG_URL_BASE (set by the check
# script), stopping at the first error.
psql_admin() { psql "${PG_URL_BASE:?}/postgres" -v ON_ERROR_STOP=1 -qAt "$@"; }

# psql on database DB of that server: psql_db DB args...
psql_db() {
  local db=$1
  shift
  psql "${PG_URL_BASE:?}/$db" -v ON_ERROR_STOP=1 -qAt "$@"
}

# Fails the check (exit 1) unless psql is installed and PostgreSQL answers at
# $PG_URL_BASE.
e2e_require_postgres() {
  command -v psql >/dev/null || {
    e2e_fail "psql is not installed (apt-get install postgresql-client)"
    exit 1
  }
  psql_admin -c "SELECT 1" >/dev/null 2>&1 || {
    e2e_fail "PostgreSQL does not answer at $PG_URL_BASE (.ci/run starts it)"
    exit 1
  }
}

# e2e_new_database NAME: creates database NAME there, dropped (with any
# connections still open to it) at exit.
e2e_new_database() {
  e2e_at_exit e2e_drop_database "$1"
  psql_admin -c "CREATE DATABASE $1" >/dev/null
}
e2e_drop_database() {
  psql_admin -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null || {
    echo "cleanup: could not drop database $1" >&2
    return 1
  }
}

# Commands to run at exit, after every server has stopped: e2e_at_exit cmd args...
E2E_AT_EXIT=()
e2e_at_exit() {
  local q
  printf -v q '%q ' "$@"
  E2E_AT_EXIT+=("$q")
}

e2e_on_exit() {
  local rc=$? c
  trap - EXIT
  e2e_stop "${!E2E_PID[@]}"
  for c in "${E2E_AT_EXIT[@]}"; do
    eval "$c" || echo "cleanup failed: $c" >&2
  done
  if [ "$rc" -ne 0 ] || [ "$E2E_FAILED" -ne 0 ]; then
    e2e_show_logs
  fi
  if [ -n "$E2E_TMP" ] && [ "${E2E_KEEP_TMP:-0}" != 1 ]; then
    rm -rf "$E2E_TMP"
  fi
  echo
  if [ "$rc" -eq 0 ] && [ "$E2E_FAILED" -eq 0 ] && [ "$E2E_PASSED" -gt 0 ]; then
    echo "e2e $E2E_NAME: PASS in $((SECONDS - E2E_START))s"
    echo "e2e $E2E_NAME: $E2E_PASSED passed, $E2E_FAILED failed"
    exit 0
  fi
  [ "$rc" -eq 0 ] && [ "$E2E_FAILED" -eq 0 ] && e2e_fail "no check ran"
  echo "e2e $E2E_NAME: FAIL in $((SECONDS - E2E_START))s (exit status $rc, $E2E_FAILED failed checks)"
  echo "e2e $E2E_NAME: $E2E_PASSED passed, $((E2E_FAILED > 0 ? E2E_FAILED : 1)) failed"
  [ "$rc" -ne 0 ] && exit "$rc"
  exit 1
}

# Builds the release server unless AUTH_SERVER_BIN names one. Cargo itself
# decides whether anything changed; when another build holds the cargo lock
# this waits for it.
e2e_build_server() {
  if [ -n "${AUTH_SERVER_BIN:-}" ]; then
    E2E_SERVER_BIN=$AUTH_SERVER_BIN
  else
    e2e_log "cargo build --release -p auth-api (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    (cd "$E2E_ROOT" && cargo build --release -p auth-api --quiet)
    E2E_SERVER_BIN=$CARGO_TARGET_DIR/release/auth-server
  fi
  [ -x "$E2E_SERVER_BIN" ] || { e2e_fail "no server binary at $E2E_SERVER_BIN"; exit 1; }
}

# ---- auth-server instances ---------------------------------------------------
# Any number of release servers ($E2E_SERVER_BIN, see e2e_build_server), and
# the helper processes around them (nginx, a TCP relay), each known by a name:
#   E2E_PID[NAME]   its pid ("" once stopped)
#   E2E_LOG[NAME]   its output, appended to ($E2E_TMP/NAME.log for a server)
#   E2E_URL[NAME]   where it answers GET /health (what e2e_wait_healthy polls)
#   E2E_PORT[NAME]  its port on 127.0.0.1
# At exit, every one still running is stopped and, when the check failed,
# the last lines of each log are printed.
#
#   e2e_instance_start NAME PORT DATABASE_URL [flags...]
#       auth-server on 127.0.0.1:PORT, in the background, with
#       $E2E_INSTANCE_FLAGS and then the given flags
#   e2e_spawn NAME LOG cmd args...    any other background process
#   e2e_wait_healthy NAME...          until each answers GET /health (30 s)
#   e2e_stop NAME...                  TERM, then KILL after 5 s; then reaped
#   e2e_free_ports N                  N distinct free ports on 127.0.0.1
#
# Several instances on one database, started at once:
#   read -r pa pb <<<"$(e2e_free_ports 2)"
#   e2e_instance_start A "$pa" "$url" && e2e_instance_start B "$pb" "$url"
#   e2e_wait_healthy A B || ...
#
# Cheap hashing (the checks log in a lot), room for their bursts of
# concurrent logins, and a quick graceful stop.
E2E_INSTANCE_FLAGS=(--scrypt-log-n 10 --insecure-allow-weak-hashing --hash-queue 256 --shutdown-timeout 2s)

e2e_free_ports() {
  # All bound at the same time, so they are distinct.
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()' "${1:-1}"
}
e2e_free_port() { e2e_free_ports 1; }

e2e_spawn() {
  local name=$1 log=$2
  shift 2
  E2E_LOG[$name]=$log
  "$@" >>"$log" 2>&1 &
  E2E_PID[$name]=$!
}

e2e_instance_start() {
  local name=$1 port=$2 database_url=$3
  shift 3
  E2E_PORT[$name]=$port
  E2E_URL[$name]="http://127.0.0.1:$port"
  # Instances on PostgreSQL refuse to start without a key file for secrets
  # at rest, and all of them must share one: one per check, made once.
  case "$database_url" in
    postgres*)
      if [ ! -f "$E2E_TMP/secret.keys" ]; then
        "$E2E_SERVER_BIN" secret-key add --secret-key-file "$E2E_TMP/secret.keys" >/dev/null
      fi
      set -- --secret-key-file "$E2E_TMP/secret.keys" "$@"
      ;;
  esac
  # Mail written as files (no --smtp-url) stays in the temp dir, not in the
  # repository; a flag given in "$@" wins over the variable.
  AUTH_MAIL_DIR="${AUTH_MAIL_DIR:-$E2E_TMP/$name-mail}" \
    e2e_spawn "$name" "$E2E_TMP/$name.log" "$E2E_SERVER_BIN" \
    --bind "127.0.0.1:$port" \
    --database-url "$database_url" \
    "${E2E_INSTANCE_FLAGS[@]}" \
    "$@"
}

# Fails (status 1, saying why) as soon as one has exited, or when not all
# answer within 30 s.
e2e_wait_healthy() {
  local name pending deadline=$((SECONDS + 30))
  while :; do
    pending=0
    for name in "$@"; do
      if ! kill -0 "${E2E_PID[$name]:-}" 2>/dev/null; then
        echo "$name exited during start; its log:" >&2
        tail -n 20 "${E2E_LOG[$name]}" >&2
        return 1
      fi
      curl -fsS --noproxy '*' --max-time 2 "${E2E_URL[$name]}/health" >/dev/null 2>&1 || pending=1
    done
    [ "$pending" = 0 ] && return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "not healthy within 30 s: $*" >&2
      return 1
    fi
    sleep 0.1
  done
}

e2e_stop() {
  local name
  for name in "$@"; do
    e2e_stop_pid "${E2E_PID[$name]:-}"
    E2E_PID[$name]=""
  done
}

# The last lines of every log (40 when there is only one).
e2e_show_logs() {
  local name lines=25 shown=0
  [ "${#E2E_LOG[@]}" -gt 1 ] || lines=40
  for name in $(printf '%s\n' "${!E2E_LOG[@]}" | sort); do
    [ -s "${E2E_LOG[$name]}" ] || continue
    echo "---- last lines of $name's log (${E2E_LOG[$name]}) ----" >&2
    tail -n "$lines" "${E2E_LOG[$name]}" >&2 || true
    shown=1
  done
  [ "$shown" = 0 ] || echo "----" >&2
}

# The one server of a single-server check, named "server" (its log is
# $E2E_TMP/server.log): 127.0.0.1:<free port>, a fresh SQLite DB in the temp
# dir (or E2E_DATABASE_URL when set); extra arguments are passed to the
# server. Waits for GET /health (another free port if it does not come up,
# three times at most); sets E2E_BASE_URL and E2E_SERVER_PID.
e2e_start_server() {
  local attempt port
  for attempt in 1 2 3; do
    port=$(e2e_free_port)
    rm -f "$E2E_TMP"/auth.db*
    e2e_instance_start server "$port" "${E2E_DATABASE_URL:-sqlite://$E2E_TMP/auth.db}" "$@"
    E2E_SERVER_PID=${E2E_PID[server]}
    E2E_BASE_URL=${E2E_URL[server]}
    if e2e_wait_healthy server; then
      e2e_log "auth-server (pid $E2E_SERVER_PID) is up at $E2E_BASE_URL"
      return 0
    fi
    e2e_log "server did not come up on port $port (attempt $attempt)"
    e2e_stop_server
  done
  e2e_fail "auth-server did not answer /health"
  exit 1
}

e2e_stop_server() {
  e2e_stop server
  E2E_SERVER_PID=""
}

# Known server issues that the Python checks reported (printed as "KNOWN
# ISSUE", not counted with E2E_STRICT=0), repeated at the end of the run.
e2e_known_issues() {
  if cat "$E2E_TMP"/step.*.out 2>/dev/null | grep -q ': known issue: '; then
    echo
    echo "Known server issues seen in this run (they fail the check unless E2E_STRICT=0):"
    cat "$E2E_TMP"/step.*.out | grep ': known issue: ' | sed 's/^/  /'
  fi
}

# npm ci from the committed lock file, unless node_modules already matches it.
e2e_npm_ci() {
  command -v node >/dev/null || { e2e_fail "node is not installed"; exit 1; }
  local stamp="$E2E_DIR/node_modules/.e2e-lock.sha256"
  local want
  want=$(sha256sum "$E2E_DIR/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  e2e_log "npm ci"
  (cd "$E2E_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
}

# A venv at e2e/.venv with the pinned e2e/requirements.txt, reinstalled when
# that file changes.
E2E_VENV="$E2E_DIR/.venv"
e2e_venv() {
  local stamp="$E2E_VENV/.e2e-requirements.sha256"
  local want
  want=$(sha256sum "$E2E_DIR/requirements.txt" | cut -d' ' -f1)
  if [ -x "$E2E_VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  e2e_log "python venv $E2E_VENV from requirements.txt"
  rm -rf "$E2E_VENV"
  python3 -m venv "$E2E_VENV"
  "$E2E_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$E2E_DIR/requirements.txt"
  echo "$want" >"$stamp"
}
