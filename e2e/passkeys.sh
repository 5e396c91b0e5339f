#!/usr/bin/env bash
# End-to-end: passkeys in a real browser. Debian's headless Chromium, driven
# by playwright-core (e2e/browser/passkeys.mjs) with a CDP virtual
# authenticator, on the service's own page GET /passkeys: sign up, register
# a passkey, log out, log in with it and no username, remove it, and see it
# refused. The server's --public-url is http://localhost:<port>, the origin
# the page is opened at: the RP ID is "localhost" (an IP address cannot be
# one). Screenshots go to e2e/artifacts/.
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"
e2e_init passkeys

if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  e2e_log "installing Debian's chromium (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
e2e_log "$("$CHROMIUM_PATH" --version 2>/dev/null | head -n 1)"

e2e_npm_ci
e2e_build_server

# The port must be known before the start: it is part of --public-url.
started=0
for attempt in 1 2 3; do
  port=$(e2e_free_port)
  rm -f "$E2E_TMP"/auth.db*
  e2e_instance_start server "$port" "sqlite://$E2E_TMP/auth.db" \
    --public-url "http://localhost:$port"
  if e2e_wait_healthy server; then
    started=1
    break
  fi
  e2e_log "server did not come up on port $port (attempt $attempt)"
  e2e_stop server
done
[ "$started" = 1 ] || {
  e2e_fail "auth-server did not answer /health"
  exit 1
}
e2e_log "auth-server (pid ${E2E_PID[server]}) is up; its public URL is http://localhost:$port"

mkdir -p "$E2E_DIR/artifacts"
e2e_step "passkeys page: sign up, register a passkey, log in with it without a username, remove it, refused after" \
  node "$E2E_DIR/browser/passkeys.mjs" "http://localhost:$port" "$E2E_DIR/artifacts"
