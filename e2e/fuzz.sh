#!/usr/bin/env bash
# End-to-end: API fuzzing with schemathesis against the running server's own
# /openapi.json, `--checks all` minus what e2e/fuzz/schemathesis.toml and
# docs/clients.md explain. Two rounds:
#   1. healthy server (fresh SQLite DB): every operation, the session and
#      account routes with a fresh user and bearer-or-cookie session per test
#      case (e2e/fuzz/hooks.py);
#   2. database gone (PostgreSQL database that stops accepting connections):
#      every answer must still be a declared status with a conforming body
#      and headers (503 storage_unavailable / not_ready, Retry-After).
#      Needs PostgreSQL on 127.0.0.1:5432 (as .ci/run starts it); skipped,
#      saying so, without it, unless E2E_REQUIRE_POSTGRES=1.
# Knobs: E2E_FUZZ_EXAMPLES (default 300 per operation and phase),
#        E2E_FUZZ_DOWN_EXAMPLES (default 50), E2E_FUZZ_SEED (default random;
#        the seed is printed, rerun with it to reproduce).
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"
e2e_init fuzz

EXAMPLES=${E2E_FUZZ_EXAMPLES:-300}
DOWN_EXAMPLES=${E2E_FUZZ_DOWN_EXAMPLES:-50}
PG_URL_BASE=${E2E_FUZZ_PG:-postgres://postgres@127.0.0.1:5432}

e2e_venv
e2e_build_server

ST="$E2E_VENV/bin/schemathesis"
mkdir -p "$E2E_DIR/artifacts"

# schemathesis run against $E2E_BASE_URL with the given config file and
# example count; the JUnit report goes to e2e/artifacts/.
schemathesis_run() {
  local config=$1 examples=$2 report=$3
  shift 3
  local seed=()
  [ -n "${E2E_FUZZ_SEED:-}" ] && seed=(--seed "$E2E_FUZZ_SEED")
  (
    cd "$E2E_TMP" # schemathesis writes nothing into the repository
    "$ST" --config-file "$config" run "$E2E_BASE_URL/openapi.json" \
      --url "$E2E_BASE_URL" \
      --checks all \
      --max-examples "$examples" \
      --phases examples,coverage,fuzzing,stateful \
      --report junit --report-junit-path "$E2E_DIR/artifacts/$report" \
      --no-color \
      "${seed[@]}" "$@"
  )
}

# ---- round 1: healthy server ----------------------------------------------
# All requests come from 127.0.0.1, so the per-IP login budget (50 failures
# per 15 min) would refuse every login after the fuzzer's first 50 wrong
# passwords, the hooks' own logins included. It is lifted for this server;
# the per-account back-off keeps its defaults and the fuzzer does reach it
# (429 too_many_attempts). The per-address registration budget (20 per
# hour) is lifted the same way: the fuzzer registers thousands of names;
# so is the per-address budget of /password/forgot (10 per hour).
ADMIN_PORT=$(e2e_free_port)
e2e_start_server --login-ip-max-failures 1000000 --register-ip-max 1000000 --reset-ip-max 1000000 --refusal-delay 0s \
  --admin-bind "127.0.0.1:$ADMIN_PORT"
ADMIN_URL="http://127.0.0.1:$ADMIN_PORT"

round_healthy() {
  E2E_BASE_URL=$E2E_BASE_URL SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$E2E_DIR/fuzz" \
    schemathesis_run "$E2E_DIR/fuzz/schemathesis.toml" "$EXAMPLES" fuzz-healthy.xml
}
e2e_step "schemathesis, healthy server: $EXAMPLES examples per operation, zero failures" round_healthy

# The admin listener, with a live key (made as operators make one): every
# operation fuzzed, the users' accounts of round 1 as its data.
ADMIN_EXAMPLES=${E2E_FUZZ_ADMIN_EXAMPLES:-100}
round_admin() {
  local key
  key=$("$E2E_SERVER_BIN" admin-key create --name e2e-fuzz \
    --database-url "${E2E_DATABASE_URL:-sqlite://$E2E_TMP/auth.db}" "${E2E_INSTANCE_FLAGS[@]}" 2>/dev/null)
  case "$key" in ak_*) ;; *) echo "admin-key create printed no key" >&2; return 1 ;; esac
  E2E_BASE_URL=$ADMIN_URL schemathesis_run "$E2E_DIR/fuzz/schemathesis-admin.toml" "$ADMIN_EXAMPLES" fuzz-admin.xml \
    --header "Authorization: Bearer $key"
}
e2e_step "schemathesis, admin listener with a key: $ADMIN_EXAMPLES examples per operation, zero failures" round_admin

if grep -Eq 'status=5[0-9][0-9]' "$E2E_TMP/server.log"; then
  e2e_fail "the server logged a 5xx during round 1 or the admin round:"
  grep -E 'status=5[0-9][0-9]' "$E2E_TMP/server.log" | head -n 20
else
  e2e_pass "the server log shows no 5xx in round 1 and the admin round"
fi
e2e_stop_server

# ---- round 2: database gone -------------------------------------------------
if ! command -v psql >/dev/null || ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if [ "${E2E_REQUIRE_POSTGRES:-0}" = 1 ]; then
    e2e_fail "PostgreSQL is not reachable on 127.0.0.1:5432 (E2E_REQUIRE_POSTGRES=1)"
  else
    e2e_log "SKIPPED round 2 (database gone): PostgreSQL is not reachable on 127.0.0.1:5432"
  fi
  exit 0
fi

DB="auth_e2e_fuzz_$$_$RANDOM"
psql_admin -c "CREATE DATABASE $DB" >/dev/null
e2e_at_exit psql_admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"

# Every answer of this round is a 503: sent at once, or the round crawls.
ADMIN_PORT=$(e2e_free_port)
E2E_DATABASE_URL="$PG_URL_BASE/$DB" e2e_start_server --database-timeout 1s --refusal-delay 0s \
  --admin-bind "127.0.0.1:$ADMIN_PORT"
ADMIN_URL="http://127.0.0.1:$ADMIN_PORT"

# A real session from before the outage, so that the session routes get past
# the token's format check and have to ask the (gone) database.
live_token() {
  local creds='{"username": "fuzz_down", "password": "quartz lagoon whistle 64 gently"}'
  curl -fsS -X POST "$E2E_BASE_URL/register" -H 'Content-Type: application/json' -d "$creds" >/dev/null
  curl -fsS -X POST "$E2E_BASE_URL/login" -H 'Content-Type: application/json' -d "$creds" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
TOKEN=$(live_token)
# And an admin key, made while the database is there.
ADMIN_KEY=$("$E2E_SERVER_BIN" admin-key create --name e2e-fuzz-down \
  --database-url "$PG_URL_BASE/$DB" "${E2E_INSTANCE_FLAGS[@]}" 2>/dev/null)

psql_admin -c "ALTER DATABASE $DB ALLOW_CONNECTIONS false" \
  -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$DB'" >/dev/null

ready_is_down() {
  local code
  for _ in $(seq 1 20); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$E2E_BASE_URL/ready")
    [ "$code" = 503 ] && return 0
    sleep 0.25
  done
  echo "GET /ready answered $code with the database gone" >&2
  return 1
}
e2e_step "with the database gone, /ready answers 503" ready_is_down

round_down() {
  # The session routes carry the live token as a bearer (schemathesis does not
  # make up cookies or tokens of its own here: a malformed one is refused
  # before any database access, which round 1 covers).
  schemathesis_run "$E2E_DIR/fuzz/schemathesis-db-down.toml" "$DOWN_EXAMPLES" fuzz-db-down.xml \
    --generation-with-security-parameters false \
    -H "Authorization: Bearer $TOKEN"
}
e2e_step "schemathesis, database gone: $DOWN_EXAMPLES examples per operation, only declared answers (503 allowed)" round_down

round_admin_down() {
  case "$ADMIN_KEY" in ak_*) ;; *) echo "admin-key create printed no key" >&2; return 1 ;; esac
  E2E_BASE_URL=$ADMIN_URL schemathesis_run "$E2E_DIR/fuzz/schemathesis-db-down.toml" "$DOWN_EXAMPLES" fuzz-admin-db-down.xml \
    --generation-with-security-parameters false \
    -H "Authorization: Bearer $ADMIN_KEY"
}
e2e_step "schemathesis, admin listener, database gone: $DOWN_EXAMPLES examples per operation, only declared answers (503 allowed)" round_admin_down

if grep -E 'status=5[0-9][0-9]' "$E2E_TMP/server.log" | grep -Ev 'status=503' | grep -q .; then
  e2e_fail "the server logged a 5xx other than 503 during round 2:"
  grep -E 'status=5[0-9][0-9]' "$E2E_TMP/server.log" | grep -Ev 'status=503' | head -n 20
else
  e2e_pass "the server log shows no 5xx other than 503 in round 2"
fi
