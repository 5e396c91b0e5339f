"""Readiness and recovery of auth-server when PostgreSQL goes away.

    python3 outage.py PHASE --a URL --b URL --state FILE
                      [--relay-pid PID --relay-log FILE] [--limit SECONDS]

Run by e2e/outage.sh, phase by phase, while it controls the TCP relay
(relay.py) between instance A and PostgreSQL. Instance B talks to
PostgreSQL directly, on the same database. The state file carries the
session made before the outage from phase to phase.

There is no revocation feed between the instances (no LISTEN/NOTIFY): a
session cached on A is served only after a read of the revocation log (a
table B's logout writes in its own transaction) that started after the
request arrived. So while A cannot reach the database it cannot confirm
its cache and serves no session at all (503, never 200), and when the
database is back the next log read brings every revocation made
meanwhile: there is nothing to reconnect or wait for. Whether a request
was a cache hit is told by auth_session_confirmations (/metrics), which
moves only when a log read confirms a hit. outage.sh gives A a long
--session-cache-ttl, so that sessions cached before an outage are still
cached after it and these checks go through the cache, not around it.

Phases:
  before  relay up: a user, a session cached on A; a session cached on A
          and logged out on B is refused by A at once; another session
          cached on A for the next phase; /ready 200.
  gone    relay stopped (connections closed, new ones refused): the
          session cached on A is not served (503 storage_unavailable, at
          the first request); B logs out the other cached session and A
          does not serve it (503); /ready 503 not_ready; /login, /register,
          /logout, /protected 503 storage_unavailable as JSON with
          Retry-After, each within --limit seconds; /health still 200.
  back    relay started again: /ready 200 without a restart; at once, the
          session from before works and the session B logged out during the
          outage is refused by A (its log read returns that logout); login
          and registration work; A's cache serves again and a logout on B is
          refused by A at once.
  hang    relay frozen (connections open, nothing relayed; --relay-pid):
          a logout on B during the partition is never followed by a 200 on
          A (401 or 503 within --limit seconds); a request whose query is in
          flight, and new requests (/protected with a cached session
          included), answer 503 within --limit seconds.

Prints one line per check and "outage <phase>: N passed, M failed".
"""

from __future__ import annotations

import argparse
import json
import os
import signal
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
# Its sessions are cached on A and logged out on B (see refused_after_logout_on_b).
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


def confirmations(base: str) -> int:
    """auth_session_confirmations from /metrics: revocation-log reads that
    confirmed cached sessions (-1 if unreadable). It moves only when a
    request found its session in the cache."""
    r = call(base, "GET", "/metrics")
    for line in r.text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("auth_session_confirmations", "auth_session_confirmations_total"):
            return int(float(value.split()[0]))
    return -1


def protected_on_a(args, token: str, headers=None, timeout: float = 15.0):
    """GET /protected on A; returns the answer and whether A found the session
    in its cache (a revocation-log read confirmed it, or tried to)."""
    before = confirmations(args.a)
    r = call(args.a, "GET", "/protected", headers=headers or bearer(token), timeout=timeout)
    return r, before >= 0 and confirmations(args.a) > before


def cached_on_a(checks: Checks, args, token: str, label: str, tries: int = 3) -> bool:
    """Uses `token` on A until one /protected is served from A's cache. The
    first use reads the database and caches the session, so the second is
    normally a hit; the extra tries only absorb an insert undone by a
    concurrent invalidation. Nothing is waited for: there is no feed whose
    connection would have to come up first."""
    answers = []
    for _ in range(tries + 1):
        r, hit = protected_on_a(args, token)
        answers.append(r)
        if r.status == 200 and hit:
            checks.ok(f"{label} (a cache hit at use {len(answers)}, confirmed by a revocation-log read)")
            return True
        if r.status != 200:
            break
    checks.fail(label, *answers, detail="no cache hit confirmed by a revocation-log read (auth_session_confirmations)")
    return False


def refused_after_logout_on_b(checks: Checks, args, label: str) -> None:
    """The rule that makes a logout immediate on every instance, end to end:
    a PROBE session cached on A and logged out on B is refused by A at the
    very next request (no sleep, no retry; a 200 fails)."""
    token = None
    r = call(args.a, "POST", "/login", {"username": PROBE, "password": PASSWORD})
    if checks.expect(f"{label}: log in {PROBE} on A", r, 200):
        token = r.json["token"]
    if not token or not cached_on_a(checks, args, token, f"{label}: A has the probe session cached"):
        return
    out = call(args.b, "POST", "/logout", headers=bearer(token))
    if not checks.expect(f"{label}: logout on B", out, 200):
        return
    after = call(args.a, "GET", "/protected", headers=bearer(token))
    if after.status == 200:
        checks.fail(f"{label}: A refuses the session B logged out, at once", out, after,
                    detail="A served it (200) after the logout on B had answered")
    else:
        checks.expect(f"{label}: A refuses the session B logged out, at once", after, 401, "unauthorized")


def before(checks: Checks, args, state: dict) -> None:
    r = call(args.a, "POST", "/register", {"username": PROBE, "password": PASSWORD})
    checks.expect(f"register {PROBE} on A", r, 201)
    r = call(args.a, "POST", "/register", {"username": USER, "password": PASSWORD})
    checks.expect(f"register {USER} on A", r, 201)
    token = login(args.a, checks, "log in on A")
    if not token:
        return
    cached_on_a(checks, args, token, "A serves the session from its cache")
    refused_after_logout_on_b(checks, args, "before the outage")
    # Cached on A now, logged out on B while A cannot reach the database.
    victim = login(args.a, checks, "log in on A (a session to revoke from B during the outage)")
    if victim and cached_on_a(checks, args, victim, "A has that session cached"):
        state["victim"] = victim
    checks.expect("GET /ready on A", call(args.a, "GET", "/ready"), 200)
    state["token"] = token


def down_checks(checks: Checks, args, state: dict, how: str, hanging: bool = False) -> None:
    """What every route answers while the database is unreachable: 503, a
    cached session included (A cannot confirm it against the revocation log).

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
    # The session is in A's cache, but A cannot read the revocation log to
    # confirm it: not served.
    for label, headers in (("bearer", bearer(token)), ("cookie", cookie(token))):
        expect(f"GET /protected, session cached on A ({label})",
               call(args.a, "GET", "/protected", headers=headers, timeout=timeout), "storage_unavailable")


def gone(checks: Checks, args, state: dict) -> None:
    limit = args.limit
    token = state.get("token", "")
    # Right after the connections closed: the session cached on A. A cannot
    # read the revocation log, so it cannot tell whether another instance
    # revoked it: not served, and the database is gone: 503. No 200 first
    # (there is no feed whose loss A would have to notice).
    stopped = time.monotonic()
    first = call(args.a, "GET", "/protected", headers=bearer(token), timeout=limit + 1)
    checks.expect("database gone: GET /protected right away (session cached on A before)", first, 503,
                  "storage_unavailable", retry_after=True, max_seconds=limit)
    # A partition: B reaches the database and logs out a session cached on A.
    victim = state.get("victim")
    if victim:
        out = call(args.b, "POST", "/logout", headers=bearer(victim))
        checks.expect("database gone for A: logout on B of a session cached on A (B reaches the database)", out, 200)
        after = call(args.a, "GET", "/protected", headers=bearer(victim), timeout=limit + 1)
        checks.expect("database gone: A does not serve the session B just logged out", after, 503,
                      "storage_unavailable", retry_after=True, max_seconds=limit)
    else:
        checks.fail("a session cached on A to revoke from B during the outage (phase before)")
    ready = wait_for(lambda: call(args.a, "GET", "/ready", timeout=limit + 1).status == 503, 15.0, 0.1)
    if not ready:
        checks.fail("/ready turns 503 within 15 s of the database going away", call(args.a, "GET", "/ready"))
        return
    checks.ok(f"/ready answered 503 {time.monotonic() - stopped:.1f}s after the relay stopped")
    checks.expect("GET /health (liveness does not depend on the database)", call(args.a, "GET", "/health"), 200,
                  max_seconds=1)
    down_checks(checks, args, state, "database gone")


def back(checks: Checks, args, state: dict) -> None:
    token = state.get("token", "")
    started = time.monotonic()
    ready = wait_for(lambda: call(args.a, "GET", "/ready").status == 200, 30.0, 0.1)
    if not ready:
        checks.fail("/ready turns 200 within 30 s of the database coming back (no restart)", call(args.a, "GET", "/ready"))
        return
    checks.ok(f"/ready answered 200 {time.monotonic() - started:.1f}s after the relay came back, without a restart")
    # The first requests after /ready.
    victim = state.pop("victim", None)
    if victim:
        # Logged out on B while A could not reach the database, and still in
        # A's cache. First, so that its own confirmation is the first log
        # read since the database came back: that read returns the logout.
        r, hit = protected_on_a(args, victim)
        label = "the session B logged out during the outage is refused by A at once"
        if r.status == 200:
            checks.fail(label, r, detail="A served it (200) after the database came back")
        elif checks.expect(label, r, 401, "unauthorized"):
            if hit:
                checks.ok("that session was still in A's cache: the revocation-log read is what refused it")
            else:
                checks.fail("that session was still in A's cache (auth_session_confirmations did not move), "
                            "so the log read was not what refused it", r)
    else:
        checks.fail("a session logged out on B during the outage, to check on A (phase gone or hang)")
    # At once, no retry: nothing has to reconnect; the next revocation-log
    # read confirms the cache.
    for label, headers in (("bearer", bearer(token)), ("cookie", cookie(token))):
        r, hit = protected_on_a(args, token, headers)
        where = "from A's cache" if hit else "read from the database"
        if r.status == 200:
            checks.ok(f"the session from before the outage works at once ({label}, {where})")
        else:
            checks.expect(f"the session from before the outage works at once ({label})", r, 200)
    fresh = login(args.a, checks, "log in on A again")
    r = call(args.a, "POST", "/register", {"username": f"after.outage.{int(time.time() * 1000) % 10**9}.{RUN_ID}",
                                            "password": PASSWORD})
    checks.expect("register a new user on A", r, 201)
    if not fresh:
        return
    cached_on_a(checks, args, fresh, "A's cache serves sessions again")
    refused_after_logout_on_b(checks, args, "after the outage")
    state["token"] = fresh


def hang(checks: Checks, args, state: dict) -> None:
    limit = args.limit
    # A session cached on A, to revoke on B during the partition.
    victim = login(args.a, checks, "log in on A (a session to revoke from B during the partition)")
    if not victim or not cached_on_a(checks, args, victim, "A has that session cached before the partition"):
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

        # 2. A partition: B reaches the database, A does not. A cannot read
        # the revocation log, so it cannot confirm its cache: never a 200
        # for the session B logged out.
        out = call(args.b, "POST", "/logout", headers=bearer(victim))
        checks.expect("during the partition, logout on B (B reaches the database)", out, 200)
        after = call(args.a, "GET", "/protected", headers=bearer(victim), timeout=limit + 1)
        if after.status in (401, 503) and after.elapsed < limit:
            checks.ok(f"during the partition A does not serve the session B logged out ({after.status}, "
                      f"{after.elapsed:.1f}s)")
        elif after.status == 200:
            checks.fail("during the partition A does not serve the session B logged out", out, after,
                        detail="A served it (200) after the logout on B had answered")
        elif after.status == 0:
            checks.known_issue(f"during the partition A answers within {limit:.0f} s", after,
                               detail="no answer: a query without a time limit")
        else:
            checks.fail(f"during the partition A answers 401 or 503 within {limit:.0f} s for the session B "
                        "logged out", after)
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
