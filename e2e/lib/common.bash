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
# On exit (any exit) the trap stops the server, removes the temp dir and
# prints "<check>: PASS|FAIL" plus an "N passed, N failed" line.
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

e2e_stop_server() {
  e2e_stop_pid "$E2E_SERVER_PID"
  E2E_SERVER_PID=""
}

# psql as the administrator on the server at $PG_URL_BASE (set by the check
# script), stopping at the first error.
psql_admin() { psql "${PG_URL_BASE:?}/postgres" -v ON_ERROR_STOP=1 -qAt "$@"; }

# Commands to run at exit, after the server has stopped: e2e_at_exit cmd args...
E2E_AT_EXIT=()
e2e_at_exit() {
  local q
  printf -v q '%q ' "$@"
  E2E_AT_EXIT+=("$q")
}

e2e_on_exit() {
  local rc=$? c
  trap - EXIT
  e2e_stop_server
  for c in "${E2E_AT_EXIT[@]}"; do
    eval "$c" || echo "cleanup failed: $c" >&2
  done
  if [ "$rc" -ne 0 ] || [ "$E2E_FAILED" -ne 0 ]; then
    if [ -s "$E2E_TMP/server.log" ]; then
      echo "---- last lines of the server log ($E2E_TMP/server.log) ----" >&2
      tail -n 40 "$E2E_TMP/server.log" >&2 || true
      echo "----" >&2
    fi
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

e2e_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts auth-server on 127.0.0.1:<free port> with a fresh SQLite DB in the
# temp dir (or E2E_DATABASE_URL when set) and cheap hashing, then waits for
# GET /health. Extra arguments are passed to the server. Sets E2E_BASE_URL.
e2e_start_server() {
  local attempt port
  for attempt in 1 2 3; do
    port=$(e2e_free_port)
    rm -f "$E2E_TMP"/auth.db*
    "$E2E_SERVER_BIN" \
      --bind "127.0.0.1:$port" \
      --database-url "${E2E_DATABASE_URL:-sqlite://$E2E_TMP/auth.db}" \
      --scrypt-log-n 10 --insecure-allow-weak-hashing \
      --hash-queue 256 \
      "$@" >>"$E2E_TMP/server.log" 2>&1 &
    E2E_SERVER_PID=$!
    E2E_BASE_URL="http://127.0.0.1:$port"
    for _ in $(seq 1 150); do
      if ! kill -0 "$E2E_SERVER_PID" 2>/dev/null; then
        break
      fi
      if curl -fsS --max-time 2 "$E2E_BASE_URL/health" >/dev/null 2>&1; then
        e2e_log "auth-server (pid $E2E_SERVER_PID) is up at $E2E_BASE_URL"
        return 0
      fi
      sleep 0.2
    done
    e2e_log "server did not come up on port $port (attempt $attempt); log:"
    tail -n 20 "$E2E_TMP/server.log" >&2 || true
    e2e_stop_server
  done
  e2e_fail "auth-server did not answer /health"
  exit 1
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
