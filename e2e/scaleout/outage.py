"""Readiness and recovery of auth-server when PostgreSQL goes away.

    python3 outage.py PHASE --a URL --b URL --state FILE --db-url URL
                      [--relay-pid PID --relay-log FILE] [--limit SECONDS]

Run by e2e/outage.sh, phase by phase, while it controls the TCP relay
(relay.py) between instance A and PostgreSQL. Instance B talks to
PostgreSQL directly, on the same database. The state file carries the
session made before the outage from phase to phase.

Phases:
  before  relay up: a user, a session (cached on A), /ready 200.
  gone    relay stopped (connections closed, new ones refused): /ready 503
          not_ready; /login, /register, /protected, /logout 503
          storage_unavailable as JSON with Retry-After, each within --limit
          seconds; /health still 200.
  back    relay started again: /ready 200 without a restart, the session
          from before still works, login and registration work, A's cache
          serves again and a logout on B reaches it.
  hang    relay frozen (connections open, nothing relayed; --relay-pid):
          a logout on B during the partition is not ignored by A; a request
          whose query is in flight, and new requests, answer within --limit
          seconds.

Prints one line per check and "outage <phase>: N passed, M failed".
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from httpc import (
    PASSWORD,
    RUN_ID,
    Checks,
    bearer,
    call,
    cookie,
    main_guard,
    wait_for,
)

USER = f"outage.user.{RUN_ID}"
# Its sessions are deleted behind the server's back, to check that A never
# serves a session the database no longer has (see cache_serving).
PROBE = f"cache.probe.{RUN_ID}"


def load(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def save(path: str, state: dict) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(state, handle)


def login(base: str, checks: Checks, label: str) -> str | None:
    r = call(base, "POST", "/login", {"username": USER, "password": PASSWORD})
    if checks.expect(label, r, 200):
        return r.json["token"]
    return None


def cache_serving(args, seconds: float = 15.0) -> bool:
    """Waits until A serves sessions again, and checks the rule that makes a
    logout immediate on every instance: a probe session used on A (so A
    caches it) and then deleted straight from the database, without any
    notification, must be refused by A at once, because with a shared
    PostgreSQL store every cache hit is confirmed against the database."""
    delete = (
        "DELETE FROM sessions WHERE user_id = "
        f"(SELECT id FROM users WHERE username_canonical = '{PROBE.lower()}')"
    )

    def probe() -> bool:
        r = call(args.a, "POST", "/login", {"username": PROBE, "password": PASSWORD})
        token = (r.json or {}).get("token")
        if r.status != 200 or not token:
            return False
        if call(args.a, "GET", "/protected", headers=bearer(token)).status != 200:
            return False
        subprocess.run(["psql", args.db_url, "-qAt", "-c", delete], check=True, capture_output=True, timeout=10)
        return call(args.a, "GET", "/protected", headers=bearer(token)).status == 401

    return bool(wait_for(probe, seconds, 0.2))


def cached_on_a(args, token: str) -> bool:
    """Uses `token` on A once its cache serves, so that A caches it."""
    if not cache_serving(args):
        return False
    return call(args.a, "GET", "/protected", headers=bearer(token)).status == 200


def before(checks: Checks, args, state: dict) -> None:
    r = call(args.a, "POST", "/register", {"username": PROBE, "password": PASSWORD})
    checks.expect(f"register {PROBE} on A", r, 201)
    r = call(args.a, "POST", "/register", {"username": USER, "password": PASSWORD})
    checks.expect(f"register {USER} on A", r, 201)
    token = login(args.a, checks, "log in on A")
    if not token:
        return
    if cached_on_a(args, token):
        checks.ok("A serves the session, and refuses one deleted behind its back at once")
    else:
        checks.fail("A serves the session, and refuses one deleted behind its back at once")
    checks.expect("GET /ready on A", call(args.a, "GET", "/ready"), 200)
    state["token"] = token


def down_checks(checks: Checks, args, state: dict, how: str, hanging: bool = False) -> None:
    """What every route answers while the database is unreachable.

    `hanging`: the database accepts but never answers. A request that then
    gets no answer at all within the limit is the known issue of queries
    without a time limit (reported); any other wrong answer fails."""
    limit = args.limit
    token = state.get("token", "")
    timeout = limit + 1

    def expect(label, r, code):
        if hanging and r.status == 0:
            checks.known_issue(
                f"{how}: {label} answers within {limit:.0f} s", r,
                detail="no answer: it got a pooled connection whose query (or ping) waits for PostgreSQL "
                "without a time limit",
            )
        else:
            checks.expect(f"{how}: {label}", r, 503, code, retry_after=True, max_seconds=limit)

    expect("GET /ready", call(args.a, "GET", "/ready", timeout=timeout), "not_ready")
    expect("POST /login (right password)",
           call(args.a, "POST", "/login", {"username": USER, "password": PASSWORD}, timeout=timeout),
           "storage_unavailable")
    expect("POST /register",
           call(args.a, "POST", "/register", {"username": f"during.outage.{RUN_ID}", "password": PASSWORD},
                timeout=timeout),
           "storage_unavailable")
    expect("POST /logout (not reported as done)",
           call(args.a, "POST", "/logout", headers=bearer(token), timeout=timeout), "storage_unavailable")


def gone(checks: Checks, args, state: dict) -> None:
    limit = args.limit
    token = state.get("token", "")
    # Right after the connections closed: the session cached on A. With its
    # revocation feed gone, A must stop trusting its cache (it may miss
    # revocations) and ask the database, which is gone: 503.
    stopped = time.monotonic()
    first = call(args.a, "GET", "/protected", headers=bearer(token), timeout=limit + 1)
    if first.status == 200:
        last = wait_for(lambda: call(args.a, "GET", "/protected", headers=bearer(token), timeout=limit + 1).status != 200,
                        limit, 0.01)
        served = time.monotonic() - stopped
        if last:
            checks.ok(f"A stops serving its cache {served:.1f}s after the database connections closed")
            checks.known_issue(
                "A stops serving its cache as soon as its revocation feed is lost", first,
                detail=f"cached session still accepted for {served:.1f}s: the feed reports the loss only after its "
                "first reconnection attempt, which waits up to --database-timeout",
            )
        else:
            checks.fail(f"A stops serving its cache within {limit:.0f} s of losing the database", first)
    else:
        checks.expect("database gone: GET /protected right away (session cached before)", first, 503,
                      "storage_unavailable", retry_after=True, max_seconds=limit)
    ready = wait_for(lambda: call(args.a, "GET", "/ready", timeout=limit + 1).status == 503, 15.0, 0.1)
    if not ready:
        checks.fail("/ready turns 503 within 15 s of the database going away", call(args.a, "GET", "/ready"))
        return
    checks.ok(f"/ready answered 503 {time.monotonic() - stopped:.1f}s after the relay stopped")
    checks.expect("GET /health (liveness does not depend on the database)", call(args.a, "GET", "/health"), 200,
                  max_seconds=1)
    down_checks(checks, args, state, "database gone")
    for label, headers in (("bearer", bearer(token)), ("cookie", cookie(token))):
        r = call(args.a, "GET", "/protected", headers=headers, timeout=limit + 1)
        checks.expect(f"database gone: GET /protected ({label})", r, 503, "storage_unavailable",
                      retry_after=True, max_seconds=limit)


def back(checks: Checks, args, state: dict) -> None:
    token = state.get("token", "")
    started = time.monotonic()
    ready = wait_for(lambda: call(args.a, "GET", "/ready").status == 200, 30.0, 0.1)
    if not ready:
        checks.fail("/ready turns 200 within 30 s of the database coming back (no restart)", call(args.a, "GET", "/ready"))
        return
    checks.ok(f"/ready answered 200 {time.monotonic() - started:.1f}s after the relay came back, without a restart")
    for label, headers in (("bearer", bearer(token)), ("cookie", cookie(token))):
        r = call(args.a, "GET", "/protected", headers=headers)
        checks.expect(f"the session from before the outage still works ({label})", r, 200)
    if state.get("victim"):
        # Refused once A's feed has reconnected (the cache is cleared then).
        # Until A notices that its LISTEN connection died, the cache still
        # serves: sqlx's listener first tries to reconnect (for up to
        # --database-timeout) and only then reports the loss.
        victim = state["victim"]
        r = call(args.a, "GET", "/protected", headers=bearer(victim))
        label = "the session B logged out during the partition is refused by A"
        if r.status == 200:
            came_back = time.monotonic()
            if wait_for(lambda: call(args.a, "GET", "/protected", headers=bearer(victim)).status == 401, 15.0, 0.01):
                checks.ok(f"{label} (after {time.monotonic() - came_back:.2f}s)")
                checks.known_issue(
                    f"{label} as soon as the database is back", r,
                    detail=f"still served from A's cache for {time.monotonic() - came_back:.2f}s: the feed's loss is "
                    "reported only after its reconnection attempt ends",
                )
            else:
                checks.fail(label, r, detail="still accepted 15 s after the database came back")
        else:
            checks.expect(label, r, 401, "unauthorized")
    fresh = login(args.a, checks, "log in on A again")
    r = call(args.a, "POST", "/register", {"username": f"after.outage.{int(time.time() * 1000) % 10**9}.{RUN_ID}",
                                            "password": PASSWORD})
    checks.expect("register a new user on A", r, 201)
    if not fresh:
        return
    if cached_on_a(args, fresh):
        checks.ok("A serves sessions again, never one the database no longer has")
    else:
        checks.fail("A serves sessions again within 15 s, never one the database no longer has")
    # The feed works again: a logout on B reaches A's cache.
    victim = login(args.a, checks, "log in on A (a session to revoke from B)")
    if victim and cached_on_a(args, victim):
        out = call(args.b, "POST", "/logout", headers=bearer(victim))
        logged_out = time.monotonic()
        checks.expect("logout on B", out, 200)
        after = call(args.a, "GET", "/protected", headers=bearer(victim))
        if after.status == 401:
            checks.ok("A refuses the session B logged out (401 at once)")
        elif after.status == 200 and wait_for(
            lambda: call(args.a, "GET", "/protected", headers=bearer(victim)).status == 401, 10.0, 0.002
        ):
            stale = time.monotonic() - logged_out
            checks.ok(f"A refuses the session B logged out (within {stale * 1000:.0f} ms)")
            checks.known_issue("A refuses the session B logged out at once", out, after,
                               detail=f"A served it from its cache for {stale * 1000:.0f} ms more: the NOTIFY was "
                               "not applied yet (see scale_out.py two-instances)")
        else:
            checks.fail("A refuses the session B logged out", out, after)
    state["token"] = fresh


def hang(checks: Checks, args, state: dict) -> None:
    limit = args.limit
    # A session cached on A, to revoke on B during the partition (checked
    # right after the freeze: the cache keeps an entry --session-cache-ttl).
    victim = login(args.a, checks, "log in on A (a session to revoke from B during the partition)")
    if not victim or not cached_on_a(args, victim):
        checks.fail("A serves the session before the partition")
        return

    # 1. A query in flight when the database stops answering: arm the relay,
    # which freezes at A's next query, the login's.
    os.kill(args.relay_pid, signal.SIGUSR2)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(
            call, args.a, "POST", "/login", {"username": USER, "password": PASSWORD}, timeout=limit + 1
        )
        frozen = wait_for(lambda: "frozen" in open(args.relay_log, encoding="utf-8").read(), 3.0, 0.02)
        if not frozen:
            os.kill(args.relay_pid, signal.SIGUSR1)  # freeze anyway, for the checks below

        # 2. A partition: A cannot hear B's revocations, and cannot tell.
        out = call(args.b, "POST", "/logout", headers=bearer(victim))
        checks.expect("during the partition, logout on B (B reaches the database)", out, 200)
        after = call(args.a, "GET", "/protected", headers=bearer(victim), timeout=limit + 1)
        if after.status in (401, 503) and after.elapsed < limit:
            checks.ok(f"A does not accept the session B logged out ({after.status})")
        elif after.status == 200:
            checks.known_issue(
                "during a partition A does not accept a session logged out on B", out, after,
                detail="A serves it from its cache: its LISTEN connection is silently dead (no keepalive or "
                "heartbeat), so the cache is not suspended, for up to --session-cache-ttl",
            )
        elif after.status == 0:
            checks.known_issue(f"during the partition A answers within {limit:.0f} s", after,
                               detail="no answer: a query without a time limit")
        else:
            checks.fail("during the partition A answers 401 or 503 for the session B logged out", after)
        state["victim"] = victim

        r = pending.result()
    if not frozen:
        checks.fail("the relay froze at the login's query", r)
    elif r.status == 503 and r.code == "storage_unavailable" and r.elapsed < limit:
        checks.ok(f"database hangs mid-request: POST /login answered 503 storage_unavailable after {r.elapsed:.1f}s")
    elif r.status == 0:
        checks.known_issue(
            f"database hangs mid-request: POST /login answers within {limit:.0f} s", r,
            detail="no answer: a query already sent waits for PostgreSQL without a time limit "
            "(no statement timeout); it fails only when the connection closes",
        )
    else:
        checks.fail(f"database hangs mid-request: POST /login answers 503 within {limit:.0f} s", r)

    # 3. New requests while the database hangs.
    down_checks(checks, args, state, "database hangs", hanging=True)


def run() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("phase", choices=["before", "gone", "back", "hang"])
    parser.add_argument("--a", required=True)
    parser.add_argument("--b", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--db-url", required=True, help="the database, directly (for psql)")
    parser.add_argument("--relay-pid", type=int)
    parser.add_argument("--relay-log")
    parser.add_argument("--limit", type=float, default=7.0, help="seconds any answer may take while the database is away")
    args = parser.parse_args()
    state = load(args.state)
    checks = Checks(f"outage {args.phase}")
    {"before": before, "gone": gone, "back": back, "hang": hang}[args.phase](checks, args, state)
    save(args.state, state)
    return checks.finish()


if __name__ == "__main__":
    main_guard(run)
