#!/usr/bin/env bash
# End-to-end: Swagger UI at /docs, driven in Debian's headless Chromium by
# playwright-core (e2e/browser/swagger-ui.mjs). Registers, logs in and calls
# /protected through "Try it out" (cookie), then through "Authorize" (bearer),
# and with that token lists the sessions and changes the password;
# fails on any request to a host other than the server. Then the admin
# listener's Swagger UI (e2e/browser/swagger-ui-admin.mjs) with an admin key
# made by `auth-server admin-key create`, running a user search. Screenshots
# go to e2e/artifacts/.
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"
e2e_init browser

if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  e2e_log "installing Debian's chromium (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
e2e_log "$("$CHROMIUM_PATH" --version 2>/dev/null | head -n 1)"

e2e_npm_ci
e2e_build_server
ADMIN_PORT=$(e2e_free_port)
e2e_start_server --admin-bind "127.0.0.1:$ADMIN_PORT"
ADMIN_URL="http://127.0.0.1:$ADMIN_PORT"

mkdir -p "$E2E_DIR/artifacts"
e2e_step "Swagger UI: operations listed; register 201, login 200, protected 200 (cookie and bearer), sessions 200, password change 200; no foreign requests" \
  node "$E2E_DIR/browser/swagger-ui.mjs" "$E2E_BASE_URL" "$E2E_DIR/artifacts"

# The admin listener's Swagger UI, with a key made as operators make one.
ADMIN_USER="admin_ui_$RANDOM$RANDOM"
curl -fsS -o /dev/null -H 'content-type: application/json' \
  -d "{\"username\": \"$ADMIN_USER\", \"password\": \"saffron meadow 27 glacier drift\"}" \
  "$E2E_BASE_URL/register"
ADMIN_KEY=$("$E2E_SERVER_BIN" admin-key create --name e2e-swagger \
  --database-url "${E2E_DATABASE_URL:-sqlite://$E2E_TMP/auth.db}" "${E2E_INSTANCE_FLAGS[@]}" 2>/dev/null)
export ADMIN_KEY
e2e_step "Swagger UI of the admin listener: operations listed; search 401 without a key, 200 with Authorize → admin_key; no foreign requests" \
  node "$E2E_DIR/browser/swagger-ui-admin.mjs" "$ADMIN_URL" "$ADMIN_USER" "$E2E_DIR/artifacts"
