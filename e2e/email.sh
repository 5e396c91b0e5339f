#!/usr/bin/env bash
# End-to-end: email verification and password reset over real SMTP, the
# pages in Chromium, and the outbox across a mail-server outage.
#
# The SMTP server is aiosmtpd (e2e/.venv, pinned in e2e/requirements.txt)
# run as e2e/email/smtp_sink.py on a free port of 127.0.0.1: it stores every
# message it accepts as one file in $E2E_TMP/mail, which the checks read.
# auth-server (release build, fresh SQLite DB) sends to it with --smtp-url,
# its links point at itself (--public-url), its outbox worker polls every
# second and retries from 5 s (doubling). The checks are
# e2e/email/email_check.py (Python standard library only), which opens the
# links in Debian's headless Chromium through e2e/email/browser.mjs
# (playwright-core, as e2e/browser/).
#
#   run 1   register with an email: the verification mail arrives, to that
#           address, with a link to /verify?token=…; opened in Chromium the
#           page asks for nothing from another host and spends nothing
#           (/me: email_verified false) until #submit is pressed (then
#           #status says verified, /me true; the token works once). Log in,
#           forgot password: 202, one reset mail; its /reset page (CSP
#           starting with default-src 'none', no CSP violation in the
#           console) takes a new password: #status says reset, every
#           session ended. The new password logs in, the old one and the old
#           sessions get 401; the "password changed" notice arrives.
#   run 2   the SMTP server stopped: forgot password still 202, the worker
#           fails and keeps the message (auth_mail_retried, _waiting); the
#           SMTP server started again on the same port E2E_EMAIL_OUTAGE (60)
#           seconds after the request: the reset mail arrives within 75 s,
#           and once (none more 15 s later); its link works; /metrics:
#           auth_mail_retried ≥ 1, auth_mail_sent ≥ what the SMTP server got.
#
# Screenshots go to e2e/artifacts/. The server and the SMTP server are
# stopped at exit by common.bash (both are started as its named processes).
# Knobs: E2E_EMAIL_OUTAGE (seconds, 60), CHROMIUM_PATH, and common.bash's
# AUTH_SERVER_BIN and E2E_KEEP_TMP=1.
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"
e2e_init email

OUTAGE=${E2E_EMAIL_OUTAGE:-60}
HELPERS="$E2E_DIR/email"
MAIL_DIR="$E2E_TMP/mail"
STATE="$E2E_TMP/email-state.json"
SINK_LOG="$E2E_TMP/smtp-sink.log"
MAIL_FROM="auth-e2e@example.com"
export PYTHONDONTWRITEBYTECODE=1

if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  e2e_log "installing Debian's chromium (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
e2e_log "$("$CHROMIUM_PATH" --version 2>/dev/null | head -n 1)"

e2e_npm_ci
e2e_venv
e2e_build_server
mkdir -p "$MAIL_DIR" "$E2E_DIR/artifacts"

# The SMTP server on SMTP_PORT (set below), until it listens (at most 10 s).
sink_start() {
  rm -f "$E2E_TMP/sink.ready"
  e2e_spawn sink "$SINK_LOG" "$E2E_VENV/bin/python" "$HELPERS/smtp_sink.py" \
    --listen "127.0.0.1:$SMTP_PORT" --dir "$MAIL_DIR" --ready-file "$E2E_TMP/sink.ready"
  for _ in $(seq 1 100); do
    [ -s "$E2E_TMP/sink.ready" ] && return 0
    kill -0 "${E2E_PID[sink]}" 2>/dev/null || break
    sleep 0.1
  done
  e2e_fail "the SMTP server did not listen on 127.0.0.1:$SMTP_PORT"
  tail -n 5 "$SINK_LOG" >&2
  exit 1
}
sink_stop() { e2e_stop sink; }

# The server first (its port goes into --public-url), then the SMTP server;
# another pair of ports if the server does not come up.
started=0
for attempt in 1 2 3; do
  SERVER_PORT=$(e2e_free_port)
  SMTP_PORT=$(e2e_free_port)
  [ "$SMTP_PORT" != "$SERVER_PORT" ] || continue
  # localhost, not 127.0.0.1: --public-url is also the passkeys' relying
  # party, which must be a domain name.
  BASE="http://localhost:$SERVER_PORT"
  sink_start
  rm -f "$E2E_TMP"/auth.db*
  e2e_instance_start server "$SERVER_PORT" "sqlite://$E2E_TMP/auth.db" \
    --public-url "$BASE" \
    --smtp-url "smtp://127.0.0.1:$SMTP_PORT" \
    --mail-from "Auth E2E <$MAIL_FROM>" \
    --mail-poll-interval 1s \
    --mail-retry-base 5s
  if e2e_wait_healthy server; then
    started=1
    break
  fi
  e2e_log "server did not come up on port $SERVER_PORT (attempt $attempt)"
  e2e_stop server sink
done
[ "$started" = 1 ] || {
  e2e_fail "auth-server did not answer /health"
  exit 1
}
e2e_log "auth-server at $BASE (pid ${E2E_PID[server]}), SMTP server at 127.0.0.1:$SMTP_PORT (pid ${E2E_PID[sink]})"

phase() {
  local name=$1
  shift
  python3 "$HELPERS/email_check.py" "$name" --base "$BASE" --mail-dir "$MAIL_DIR" --state "$STATE" \
    --mail-from "$MAIL_FROM" --artifacts "$E2E_DIR/artifacts" "$@"
}

e2e_step "run 1: verification mail and page, reset mail and page, old password and sessions refused, notice mailed" \
  phase run1

sink_stop
e2e_log "SMTP server stopped"
outage_from=$SECONDS
e2e_step "run 2: password reset asked while the SMTP server is down: 202, the outbox keeps it and retries" \
  phase outage-request --smtp "127.0.0.1:$SMTP_PORT"
wait_s=$((OUTAGE - (SECONDS - outage_from)))
if [ "$wait_s" -gt 0 ]; then
  e2e_log "SMTP server down; starting it again in ${wait_s}s"
  # One second at a time: an interrupt is not held up for a minute.
  for _ in $(seq 1 "$wait_s"); do sleep 1; done
fi
sink_start
e2e_log "SMTP server started again on 127.0.0.1:$SMTP_PORT (pid ${E2E_PID[sink]}), $((SECONDS - outage_from))s after stopping it"
e2e_step "run 2: the SMTP server back: the reset mail arrives once, its link works, /metrics agree" \
  phase outage-recover --within 75 --settle 15
