#!/usr/bin/env bash
# End-to-end: Swagger UI at /docs, driven in Debian's headless Chromium by
# playwright-core (e2e/browser/swagger-ui.mjs). Registers, logs in and calls
# /protected through "Try it out" (cookie), then through "Authorize" (bearer),
# and with that token lists the sessions and changes the password;
# fails on any request to a host other than the server. Screenshots go to
# e2e/artifacts/.
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
e2e_start_server

mkdir -p "$E2E_DIR/artifacts"
e2e_step "Swagger UI: operations listed; register 201, login 200, protected 200 (cookie and bearer), sessions 200, password change 200; no foreign requests" \
  node "$E2E_DIR/browser/swagger-ui.mjs" "$E2E_BASE_URL" "$E2E_DIR/artifacts"
