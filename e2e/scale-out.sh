#!/usr/bin/env bash
# End-to-end: several auth-server instances on one PostgreSQL database, and
# the sample nginx load balancer (e2e/nginx/auth.conf) in front of two.
#
#   1. Concurrent start, E2E_SCALEOUT_STARTS times (default 3): two release
#      servers start at the same moment on a fresh database. Both come up,
#      and every migration was applied by exactly one of them (the other
#      waited on the advisory lock and found nothing pending).
#   2. The last pair as one service (e2e/scaleout/scale_out.py
#      two-instances): a session from either instance works on both (cookie
#      and bearer); a logout on one is refused by the other at once, also
#      when the other has the session cached, both ways, in every one of
#      E2E_SCALEOUT_REVOCATION_ROUNDS rounds: the very next request after
#      the logout's 200 is 401, and a single 200 fails (there is no feed
#      between the instances and no "stale" window: a cached session is
#      served only after a read of the revocation log, which the logout
#      wrote in its own transaction, that started after the request
#      arrived); failed logins on both add up to one back-off; 20
#      simultaneous registrations of one name over both give one 201 and
#      19 × 409 username_taken.
#   3. Purging on both instances at once (--purge-interval 1s): an expired
#      session and a stale login failure are deleted, no purge fails.
#   4. nginx (installed with apt-get if missing) with the sample config,
#      run as a foreground process of this script on a free port
#      (scale_out.py serve, failover, all-down): nginx -t; register, login,
#      /protected and logout through it (the token is refused at once after
#      the logout, whichever instance answers); X-Request-Id end to end; both
#      instances get requests; the per-address login budget keys on the
#      client in X-Forwarded-For (and a forged header from an untrusted
#      address is ignored); with B stopped everything still works and
#      max_fails takes B out; with both stopped nginx answers JSON 503.
#
# The instances and nginx are started, and stopped at exit, by common.bash's
# instance functions (as in outage.sh). Needs PostgreSQL on 127.0.0.1:5432,
# user postgres without password (as .ci/run starts it). Every database,
# server and nginx it starts is removed or stopped on exit, whatever happens.
#
# Knobs: E2E_PG_URL (default postgres://postgres@127.0.0.1:5432),
#   E2E_SCALEOUT_STARTS (3), E2E_SCALEOUT_REVOCATION_ROUNDS (25),
#   E2E_SKIP_NGINX=1 (skip step 4, saying so), and common.bash's
#   AUTH_SERVER_BIN and E2E_KEEP_TMP=1. No check here is a "known issue"
#   (E2E_STRICT has nothing to relax): a revoked session served is a failure.
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"
e2e_init scale-out

PG_URL_BASE=${E2E_PG_URL:-postgres://postgres@127.0.0.1:5432}
STARTS=${E2E_SCALEOUT_STARTS:-3}
IP_BUDGET=20 # --login-ip-max-failures of the instances
HELPERS="$E2E_DIR/scaleout"
export E2E_RUN_ID="so$$"
export PYTHONDONTWRITEBYTECODE=1

e2e_require_postgres
e2e_build_server

# ---- 1. concurrent start and migration ----------------------------------------
# Every check registers from 127.0.0.1 (the 20-way race alone spends a whole
# per-address registration budget), so that budget is lifted. Refusals are
# sent at once: the back-off check makes two refused attempts inside one
# 1 s wait, and a held 429 would eat half of it.
SERVER_FLAGS=(--trusted-proxies 127.0.0.1/32 --login-ip-max-failures "$IP_BUDGET" --register-ip-max 100000 --refusal-delay 0s --purge-interval 1s)

# Both up, and each migration recorded in the database was applied by
# exactly one of the two (per their logs); the other found none pending.
migrated_once() {
  local a=$1 b=$2 db=$3 applied version count total
  e2e_wait_healthy "$a" "$b" || return 1
  applied=$(psql_db "$db" -c "SELECT version FROM seaql_migrations ORDER BY version")
  if [ -z "$applied" ]; then
    echo "seaql_migrations is empty" >&2
    return 1
  fi
  for version in $applied; do
    count=$(cat "${E2E_LOG[$a]}" "${E2E_LOG[$b]}" | grep -c "Applying migration '$version'" || true)
    if [ "$count" != 1 ]; then
      echo "migration $version was applied $count times (expected once over both logs)" >&2
      return 1
    fi
  done
  total=$(cat "${E2E_LOG[$a]}" "${E2E_LOG[$b]}" | grep -c "Applying migration '" || true)
  count=$(cat "${E2E_LOG[$a]}" "${E2E_LOG[$b]}" | grep -c "No pending migrations" || true)
  if [ "$total" != "$(echo "$applied" | wc -l)" ] || [ "$count" != 1 ]; then
    echo "applied $total migrations over both logs for $(echo "$applied" | wc -l) recorded;" \
      "'No pending migrations' logged $count times (expected once)" >&2
    return 1
  fi
  echo "$(echo "$applied" | wc -l) migrations, each applied by one instance; the other found none pending"
}

for round in $(seq 1 "$STARTS"); do
  DB="auth_e2e_scaleout_$$_$round"
  e2e_new_database "$DB"
  read -r port_a port_b <<<"$(e2e_free_ports 2)"
  # Both at the same moment: neither waits for the other.
  e2e_instance_start "A$round" "$port_a" "$PG_URL_BASE/$DB" "${SERVER_FLAGS[@]}"
  e2e_instance_start "B$round" "$port_b" "$PG_URL_BASE/$DB" "${SERVER_FLAGS[@]}"
  e2e_step "start $round/$STARTS: two instances started at once on a fresh database" \
    migrated_once "A$round" "B$round" "$DB"
  if [ "$round" != "$STARTS" ]; then
    e2e_stop "A$round" "B$round"
  fi
done
A="A$STARTS"
B="B$STARTS"
if ! kill -0 "${E2E_PID[$A]}" 2>/dev/null || ! kill -0 "${E2E_PID[$B]}" 2>/dev/null; then
  e2e_fail "the instances did not start; nothing more to check"
  exit 1
fi

# ---- 2. one service over two instances -------------------------------------------
e2e_step "two instances, one database" \
  python3 "$HELPERS/scale_out.py" two-instances --a "${E2E_URL[$A]}" --b "${E2E_URL[$B]}"

# ---- 3. purging on both -------------------------------------------------------------
purged_on_both() {
  psql_db "$DB" -c "
    INSERT INTO sessions (id, user_id, created_at, last_seen_at, idle_expires_at, expires_at)
      SELECT decode(md5('e2e-purge-a') || md5('e2e-purge-b'), 'hex'), id,
             now() - interval '3 days', now() - interval '3 days',
             now() - interval '2 days', now() + interval '4 days'
        FROM users LIMIT 1;
    INSERT INTO login_failures (account, client_ip, failed_at)
      VALUES ('e2e.purge', '192.0.2.1', now() - interval '3 days');" >/dev/null
  local left deadline=$((SECONDS + 15))
  while :; do
    left=$(psql_db "$DB" -c "SELECT (SELECT count(*) FROM sessions WHERE idle_expires_at <= now())
                                  + (SELECT count(*) FROM login_failures WHERE account = 'e2e.purge')")
    [ "$left" = 0 ] && break
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$left expired rows still there 15 s later (--purge-interval 1s)" >&2
      return 1
    fi
    sleep 0.2
  done
  if grep -h "purge failed" "${E2E_LOG[$A]}" "${E2E_LOG[$B]}"; then
    echo "an instance logged a failed purge" >&2
    return 1
  fi
  echo "expired session and stale login failure deleted; no purge failed on either instance"
}
e2e_step "both instances purge every second: expired rows go, no purge fails" purged_on_both

# ---- 4. nginx -------------------------------------------------------------------------
# Installs nginx if missing (never starts or uses the system service: where
# no policy-rc.d keeps the package from starting it, one is put in place for
# the install only).
ensure_nginx() {
  command -v nginx >/dev/null && return 0
  [ -x /usr/sbin/nginx ] && { PATH="$PATH:/usr/sbin"; return 0; }
  e2e_log "installing nginx-light (apt-get)"
  local policy=/usr/sbin/policy-rc.d placed=0 rc=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && placed=1
  fi
  {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light ||
      { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light; }
  } >"$E2E_TMP/apt.log" 2>&1 || rc=$?
  [ "$placed" = 1 ] && rm -f "$policy"
  if [ "$rc" != 0 ]; then
    tail -n 20 "$E2E_TMP/apt.log" >&2
    return 1
  fi
  command -v nginx >/dev/null || PATH="$PATH:/usr/sbin"
  command -v nginx >/dev/null
}

NGX="$E2E_TMP/nginx"
# The sample as it is, with only its two upstream addresses, its listen
# address and its access log path replaced; each must be found exactly once.
render_nginx_conf() {
  local lb_port=$1 sample="$E2E_DIR/nginx/auth.conf" out="$NGX/auth.conf" pattern
  for pattern in 'server 127.0.0.1:5001 ' 'server 127.0.0.1:5002 ' 'listen 80;' '/var/log/nginx/auth-access.log'; do
    if [ "$(grep -cF -- "$pattern" "$sample")" != 1 ]; then
      echo "e2e/nginx/auth.conf: expected exactly one '$pattern' to replace" >&2
      return 1
    fi
  done
  sed -e "s|server 127.0.0.1:5001 |server 127.0.0.1:${E2E_PORT[$A]} |" \
    -e "s|server 127.0.0.1:5002 |server 127.0.0.1:${E2E_PORT[$B]} |" \
    -e "s|listen 80;|listen 127.0.0.1:$lb_port;|" \
    -e "s|/var/log/nginx/auth-access.log|$NGX/access.log|" \
    "$sample" >"$out"
  cat >"$NGX/nginx.conf" <<EOF
# Generated by e2e/scale-out.sh: a foreground nginx of its own around e2e/nginx/auth.conf.
daemon off;
master_process off;
pid $NGX/nginx.pid;
error_log $NGX/error.log notice;
events { worker_connections 256; }
http {
    client_body_temp_path $NGX/body;
    proxy_temp_path $NGX/proxy;
    include $out;
}
EOF
}

nginx_checks() {
  mkdir -p "$NGX"
  local lb_port lb
  lb_port=$(e2e_free_port)
  lb="http://127.0.0.1:$lb_port"
  render_nginx_conf "$lb_port" || { e2e_fail "rendering e2e/nginx/auth.conf"; return 0; }
  e2e_step "nginx -t accepts e2e/nginx/auth.conf" nginx -t -q -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/error.log"
  # Its own output goes to its error log too: all of it is shown on failure.
  e2e_spawn nginx "$NGX/error.log" nginx -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/error.log"
  E2E_URL[nginx]=$lb
  if ! e2e_wait_healthy nginx; then
    e2e_fail "nginx did not answer /health on $lb"
    return 0
  fi
  e2e_log "nginx (pid ${E2E_PID[nginx]}) at $lb -> ${E2E_URL[$A]}, ${E2E_URL[$B]}"
  e2e_step "through nginx" python3 "$HELPERS/scale_out.py" serve --lb "$lb" --a "${E2E_URL[$A]}" \
    --a-log "${E2E_LOG[$A]}" --b-log "${E2E_LOG[$B]}" --access-log "$NGX/access.log" --ip-budget "$IP_BUDGET"
  e2e_stop "$B"
  e2e_step "through nginx, instance B stopped" python3 "$HELPERS/scale_out.py" failover --lb "$lb" \
    --access-log "$NGX/access.log" --b-port "${E2E_PORT[$B]}"
  e2e_stop "$A"
  e2e_step "through nginx, both instances stopped" python3 "$HELPERS/scale_out.py" all-down --lb "$lb"
  e2e_stop nginx
}

if [ "${E2E_SKIP_NGINX:-0}" = 1 ]; then
  e2e_log "SKIPPED the nginx checks (E2E_SKIP_NGINX=1)"
elif ! ensure_nginx; then
  e2e_fail "nginx is not installed and apt-get install nginx-light failed (E2E_SKIP_NGINX=1 skips these checks)"
else
  nginx_checks
fi
