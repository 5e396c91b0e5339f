#!/usr/bin/env bash
# End-to-end: clients generated from the committed docs/openapi.json on every
# run (into e2e/.generated/, gitignored), then driven against a fresh server:
#   Python:     openapi-python-client -> e2e/clients/python_check.py
#   TypeScript: openapi-typescript + openapi-fetch -> e2e/clients/ts_check.ts
#               (tsc --noEmit, then tsx on node >= 20)
# Each registers, logs in, calls /protected with a bearer token and with the
# session cookie, logs out and sees the old token refused (401); then walks
# the self-service flow with a second user: two sessions, list, revoke one,
# change the password (the other session ends), GET /me, GET /me/events,
# log out everywhere, delete the account, register the name again; and the
# password-reset flow with a third user, whose mail goes through a real SMTP
# server: aiosmtpd (e2e/clients/smtp_sink.py, from e2e/.venv) on a free port
# writes each message to $E2E_TMP/mail/, the server sends to it
# (--smtp-url smtp://127.0.0.1:<port>, --mail-poll-interval 1s), and each
# program reads its user's messages there (the directory is its second
# argument): register with an email, verify it with the mailed token, two
# sessions, forgot_password (and the same 202 for an unknown name), the
# mailed reset token: a weak password -> 400, a strong one -> 200 with both
# sessions revoked, the old password refused, the token spent; the events.
# Two-factor (e2e/clients/python_mfa.py): the Python client enrols TOTP with
# pyotp as the authenticator app, logs in through mfa_required ->
# login_mfa, and uses a recovery code once (the second time is 401).
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"
e2e_init clients

node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { e2e_fail "node >= 20 needed, found $(node --version)"; exit 1; }

e2e_venv
e2e_npm_ci
e2e_build_server

# The SMTP sink: stopped at exit by common.bash's trap (it is in E2E_PID).
MAIL_DIR="$E2E_TMP/mail"
start_smtp_sink() {
  local attempt port
  for attempt in 1 2 3; do
    port=$(e2e_free_port)
    e2e_spawn smtp "$E2E_TMP/smtp.log" "$E2E_VENV/bin/python" -u "$E2E_DIR/clients/smtp_sink.py" "$port" "$MAIL_DIR"
    for _ in $(seq 1 100); do
      if grep -q "^smtp sink listening on 127.0.0.1:$port$" "$E2E_TMP/smtp.log" 2>/dev/null; then
        SMTP_PORT=$port
        e2e_log "smtp sink (pid ${E2E_PID[smtp]}) at 127.0.0.1:$port, writing to $MAIL_DIR"
        return 0
      fi
      kill -0 "${E2E_PID[smtp]}" 2>/dev/null || break
      sleep 0.1
    done
    e2e_log "smtp sink did not come up on port $port (attempt $attempt)"
    e2e_stop smtp
  done
  e2e_fail "the smtp sink did not start; its log:"
  tail -n 20 "$E2E_TMP/smtp.log" >&2 || true
  exit 1
}
start_smtp_sink
ADMIN_PORT=$(e2e_free_port)
e2e_start_server --smtp-url "smtp://127.0.0.1:$SMTP_PORT" --mail-poll-interval 1s \
  --admin-bind "127.0.0.1:$ADMIN_PORT"
ADMIN_URL="http://127.0.0.1:$ADMIN_PORT"

GEN="$E2E_DIR/.generated"
SPEC="$E2E_ROOT/docs/openapi.json"
ADMIN_SPEC="$E2E_ROOT/docs/admin-openapi.json"
BIN="$E2E_DIR/node_modules/.bin"

generate_python() {
  rm -rf "$GEN/python"
  mkdir -p "$GEN/python"
  # ruff (a dependency of the generator) formats the output: keep it on PATH.
  # --fail-on-warning: a part of the spec the generator cannot represent fails
  # the check instead of silently dropping an operation or a model.
  PATH="$E2E_VENV/bin:$PATH" "$E2E_VENV/bin/openapi-python-client" generate \
    --path "$SPEC" --meta none --output-path "$GEN/python/auth_service_client" \
    --fail-on-warning
}

generate_python_admin() {
  rm -rf "$GEN/python-admin"
  mkdir -p "$GEN/python-admin"
  PATH="$E2E_VENV/bin:$PATH" "$E2E_VENV/bin/openapi-python-client" generate \
    --path "$ADMIN_SPEC" --meta none --output-path "$GEN/python-admin/auth_service_admin_client" \
    --fail-on-warning
}

# An admin key made the way operators make one, on the server's database;
# only its hash is stored, so it lives in this variable alone.
create_admin_key() {
  ADMIN_KEY_NAME=e2e-clients
  ADMIN_KEY=$("$E2E_SERVER_BIN" admin-key create --name "$ADMIN_KEY_NAME" \
    --database-url "${E2E_DATABASE_URL:-sqlite://$E2E_TMP/auth.db}" "${E2E_INSTANCE_FLAGS[@]}" 2>/dev/null)
  case "$ADMIN_KEY" in ak_*) ;; *) echo "admin-key create printed no key" >&2; return 1 ;; esac
  export ADMIN_KEY ADMIN_KEY_NAME
}

served_admin_spec_is_committed_spec() {
  curl -fsS "$ADMIN_URL/openapi.json" -o "$E2E_TMP/served-admin.json"
  python3 - "$ADMIN_SPEC" "$E2E_TMP/served-admin.json" <<'PY'
import json, sys
committed, served = (json.load(open(p)) for p in sys.argv[1:3])
if committed != served:
    sys.exit("the admin listener's /openapi.json differs from docs/admin-openapi.json")
PY
}

generate_typescript() {
  rm -rf "$GEN/ts"
  mkdir -p "$GEN/ts"
  "$BIN/openapi-typescript" "$SPEC" --output "$GEN/ts/schema.d.ts"
}

served_spec_is_committed_spec() {
  curl -fsS "$E2E_BASE_URL/openapi.json" -o "$E2E_TMP/served.json"
  python3 - "$SPEC" "$E2E_TMP/served.json" <<'PY'
import json, sys
committed, served = (json.load(open(p)) for p in sys.argv[1:3])
if committed != served:
    sys.exit("the served /openapi.json differs from docs/openapi.json: the clients are generated from a stale spec")
PY
}

e2e_step "the served /openapi.json equals docs/openapi.json" served_spec_is_committed_spec
e2e_step "openapi-python-client generates the Python client" generate_python
e2e_step "the admin listener's /openapi.json equals docs/admin-openapi.json" served_admin_spec_is_committed_spec
e2e_step "openapi-python-client generates the admin Python client" generate_python_admin
e2e_step "openapi-typescript generates the TypeScript types" generate_typescript
e2e_step "the TypeScript check type-checks against the generated types (tsc --noEmit)" \
  "$BIN/tsc" -p "$E2E_DIR/tsconfig.json"
e2e_step "Python client: bearer and cookie sessions, logout, replay -> 401; the self-service flow; the reset flow" \
  env PYTHONPATH="$GEN/python" "$E2E_VENV/bin/python" "$E2E_DIR/clients/python_check.py" "$E2E_BASE_URL" "$MAIL_DIR"
e2e_step "Python client: TOTP enrolment with pyotp, mfa_required -> login_mfa, a recovery code once (twice -> 401)" \
  env PYTHONPATH="$GEN/python" "$E2E_VENV/bin/python" "$E2E_DIR/clients/python_mfa.py" "$E2E_BASE_URL"
create_admin_key || { e2e_fail "auth-server admin-key create failed"; exit 1; }
e2e_step "Python admin client: find a user, disable (token 401, login 403), enable, read the events naming the key" \
  env PYTHONPATH="$GEN/python:$GEN/python-admin" "$E2E_VENV/bin/python" "$E2E_DIR/clients/python_admin.py" "$E2E_BASE_URL" "$ADMIN_URL"
e2e_step "TypeScript client: bearer and cookie sessions, logout, replay -> 401; the self-service flow; the reset flow" \
  "$BIN/tsx" "$E2E_DIR/clients/ts_check.ts" "$E2E_BASE_URL" "$MAIL_DIR"
