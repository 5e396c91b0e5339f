"""The Python checks of e2e/scale-out.sh: two auth-server instances on one
PostgreSQL database behave as one service, directly and behind the sample
nginx config (e2e/nginx/auth.conf).

    python3 scale_out.py two-instances --a URL --b URL [--revocation-rounds N]
    python3 scale_out.py serve    --lb URL --a URL --a-log F --b-log F --access-log F --ip-budget N
    python3 scale_out.py failover --lb URL --access-log F --b-port P   (after instance B was stopped)
    python3 scale_out.py all-down --lb URL                             (after both were stopped)

two-instances, run on a fresh database, checks:
- a session made on one instance works on the other, as cookie and bearer;
- a logout on one instance is refused on the other at once (no sleep, no
  retry), also when the other had the session in its cache, both ways, in
  every one of several rounds: a single 200 after the logout answered fails.
  There is no revocation feed (no LISTEN/NOTIFY) and so no "max stale"
  window: each instance serves a cached session only after a read of the
  revocation log (in the database, written in the logout's transaction)
  that started after the request arrived, or while it holds a cache lease,
  which the logout waits for (the instance has applied it before the
  logout answers). That the session really was cached is checked each
  round with auth_session_cache_hits (/metrics);
- failed logins spread over both instances add up to one back-off;
- 20 simultaneous registrations of one name over both: exactly one 201.

serve, failover and all-down go through nginx. The instances trust
127.0.0.1/32 (--trusted-proxies), which is where nginx connects from. The
test client connects from 127.0.0.1 too, so *its* X-Forwarded-For is
believed as well (it is a trusted address): that is how one host plays a
client at 203.0.113.7. From 127.0.0.2, an address the instances do not
trust, the same forged header is ignored: nginx appends 127.0.0.2 and the
instances stop there, reading from the right.

Prints one line per check and "two-instances: N passed, M failed" or
"via-nginx <mode>: N passed, M failed".
"""

from __future__ import annotations

import argparse
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor

from httpc import (
    PASSWORD,
    RUN_ID,
    WRONG_PASSWORD,
    Checks,
    bearer,
    call,
    cookie,
    main_guard,
    register_and_login,
    wait_for,
)


# ---- two-instances: the instances directly ------------------------------------


def cache_hits(base: str) -> int:
    """auth_session_cache_hits from /metrics: session checks answered from
    the instance's cache (-1 if unreadable), after a revocation-log read or
    under the instance's cache lease. It tells a cache hit from a database
    read."""
    r = call(base, "GET", "/metrics")
    for line in r.text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("auth_session_cache_hits", "auth_session_cache_hits_total"):
            return int(float(value.split()[0]))
    return -1


def use_until_cached(base: str, token: str, tries: int = 3) -> tuple[list, bool]:
    """Uses the session on `base` until one /protected is served from its
    cache (the hit counter moved during it). The first use reads
    the database and caches the session, so the second is normally a hit;
    the extra tries only absorb an insert undone by a concurrent
    invalidation. Returns every answer and whether the last was a hit."""
    answers = []
    for _ in range(tries + 1):
        before = cache_hits(base)
        r = call(base, "GET", "/protected", headers=bearer(token))
        answers.append(r)
        if r.status != 200:
            return answers, False
        if before >= 0 and cache_hits(base) > before:
            return answers, True
    return answers, False


def sessions_cross_instances(checks: Checks, a: str, b: str) -> None:
    token = register_and_login(a, f"Cross.Instance.{RUN_ID}", checks, login_base=b)
    if not token:
        return
    for label, headers in (("cookie", cookie(token)), ("bearer", bearer(token))):
        r = call(a, "GET", "/protected", headers=headers)
        if checks.expect(f"session from B's login works on A ({label})", r, 200):
            if (r.json or {}).get("username") != f"Cross.Instance.{RUN_ID}":
                checks.fail("/protected names the user as registered", r)
    # Replay on B right after the logout on A: no sleep in between.
    out = call(a, "POST", "/logout", headers=bearer(token))
    replay_cookie = call(b, "GET", "/protected", headers=cookie(token))
    replay_bearer = call(b, "GET", "/protected", headers=bearer(token))
    checks.expect("logout on A", out, 200)
    checks.expect("cookie replayed on B right after the logout on A", replay_cookie, 401, "unauthorized")
    checks.expect("token replayed on B right after the logout on A", replay_bearer, 401, "unauthorized")
    r = call(b, "POST", "/logout", headers=cookie(token))
    checks.expect("logout of the same session again on B", r, 401, "not_logged_in")


def revocation_across_instances(checks: Checks, a: str, b: str, rounds: int) -> None:
    """A session cached on one instance, revoked through the other, is
    refused by the first at once: the very next request after the logout's
    200, with no sleep and no retry, is 401. Both directions, `rounds` times
    each; a single 200 after the logout answered, in any round, fails.

    There is no revocation feed to wait for or to lag behind: a cached
    session is served only after a read of the revocation log that started
    after the request arrived, or under the instance's lease, and the
    logout answers only once every leased instance has applied its entry.
    Each round first makes sure the session really is in the first
    instance's cache (a /protected counted as a hit, see `cache_hits`), so
    the check is never met by a plain database read.
    """
    r = call(a, "POST", "/register", {"username": f"revoked.user.{RUN_ID}", "password": PASSWORD})
    if not checks.expect("register revoked.user", r, 201):
        return
    if cache_hits(a) < 0 or cache_hits(b) < 0:
        checks.fail("both instances export auth_session_cache_hits in /metrics", call(a, "GET", "/metrics"))
        return
    for cached_on, revoked_on, name in ((a, b, "A"), (b, a, "B")):
        other = "B" if name == "A" else "A"
        served = []  # (logout, the answer after it) for every round where it was 200
        for _ in range(rounds):
            login = call(cached_on, "POST", "/login", {"username": f"revoked.user.{RUN_ID}", "password": PASSWORD})
            token = (login.json or {}).get("token")
            if login.status != 200 or not token:
                checks.fail(f"log in on {name}", login)
                return
            warm, cached = use_until_cached(cached_on, token)
            if not cached:
                checks.fail(
                    f"{name} serves the session from its cache before the logout on {other} "
                    "(a /protected counted in auth_session_cache_hits)",
                    *warm,
                )
                return
            out = call(revoked_on, "POST", "/logout", headers=bearer(token))
            if out.status != 200:
                checks.fail(f"logout on {other}", out)
                return
            after = call(cached_on, "GET", "/protected", headers=bearer(token))
            if after.status == 200:
                served.append((out, after))
            elif after.status != 401 or after.code != "unauthorized":
                checks.fail(f"/protected on {name} right after the logout on {other}: 401 unauthorized", out, after)
                return
        if served:
            out, after = served[0]
            checks.fail(
                f"session cached on {name}, logged out on {other}: {name} answers 401 at once",
                out,
                after,
                detail=f"{name} served the revoked session (200) right after the logout's 200 in "
                f"{len(served)} of {rounds} rounds; first case below",
            )
        else:
            checks.ok(
                f"session cached on {name}, logged out on {other}: "
                f"{name} answered 401 at once in {rounds}/{rounds} rounds"
            )


def shared_backoff(checks: Checks, a: str, b: str) -> None:
    r = call(a, "POST", "/register", {"username": f"backoff.user.{RUN_ID}", "password": PASSWORD})
    if not checks.expect("register backoff.user", r, 201):
        return
    wrong = {"username": f"backoff.user.{RUN_ID}", "password": WRONG_PASSWORD}
    answers = [call((a, b)[i % 2], "POST", "/login", wrong) for i in range(5)]
    if all(x.status == 401 and x.code == "invalid_credentials" for x in answers):
        checks.ok("5 wrong passwords alternating A, B, A, B, A: each 401 invalid_credentials")
    else:
        checks.fail("5 wrong passwords alternating A/B: each 401 invalid_credentials", *answers)
        return
    # The 5th failure starts a 1 s back-off, shared through the database: the
    # 6th attempt (on B, right password) and the next (on A) are refused.
    right = {"username": f"backoff.user.{RUN_ID}", "password": PASSWORD}
    sixth = call(b, "POST", "/login", right)
    seventh = call(a, "POST", "/login", right)
    if not checks.expect("6th attempt (on B, right password) within the back-off", sixth, 429, "too_many_attempts", retry_after=True):
        checks.log(f"    (the 5th failure answered {sixth.elapsed + answers[-1].elapsed:.2f}s before; the back-off is 1 s)")
    checks.expect("7th attempt (on A) within the back-off", seventh, 429, "too_many_attempts", retry_after=True)


def registration_race(checks: Checks, a: str, b: str, count: int = 20) -> None:
    barrier = threading.Barrier(count, timeout=30)
    # Case variants: one canonical name.
    names = [f"Race.Winner.{RUN_ID}", f"race.winner.{RUN_ID}", f"RACE.WINNER.{RUN_ID}", f"Race.WINNER.{RUN_ID}"]

    def attempt(index: int):
        barrier.wait()
        return call(
            (a, b)[index % 2],
            "POST",
            "/register",
            {"username": names[index % len(names)], "password": PASSWORD},
        )

    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(attempt, range(count)))
    created = [r for r in results if r.status == 201]
    taken = [r for r in results if r.status == 409 and r.code == "username_taken"]
    others = [r for r in results if r not in created and r not in taken]
    if len(created) == 1 and len(taken) == count - 1:
        checks.ok(f"{count} simultaneous registrations of one name over A and B: 1 × 201, {count - 1} × 409 username_taken")
    else:
        checks.fail(
            f"{count} simultaneous registrations: exactly one 201 and {count - 1} × 409 username_taken",
            *(others[:3] + created[:2]),
            detail=f"got {len(created)} × 201, {len(taken)} × 409, {len(others)} other",
        )
    for base, name in ((a, "A"), (b, "B")):
        r = call(base, "POST", "/login", {"username": f"race.winner.{RUN_ID}", "password": PASSWORD})
        checks.expect(f"the winner logs in on {name}", r, 200)



# ---- serve, failover, all-down: through nginx -----------------------------------


def read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def logged_in(paths, needle: str, seconds: float = 3.0) -> bool:
    """Whether `needle` appears in one of the log files within `seconds`."""
    if isinstance(paths, str):
        paths = [paths]
    return bool(wait_for(lambda: any(needle in read(path) for path in paths), seconds, 0.05))


def expect_refused(checks: Checks, lb: str, token: str, label: str) -> None:
    """/protected through the balancer right after a logout is 401 at once,
    whichever instance answers (the one that did not serve the logout too,
    even with the session cached): a 200 fails."""
    checks.expect(label, call(lb, "GET", "/protected", headers=bearer(token)), 401, "unauthorized")


def serve(checks: Checks, args) -> None:
    lb = args.lb
    r = call(lb, "GET", "/health")
    checks.expect("GET /health through nginx", r, 200)
    r = call(lb, "GET", "/ready")
    checks.expect("GET /ready through nginx", r, 200)

    # X-Request-Id: the client's passes through; without one nginx makes one.
    rid = f"scaleout-nginx-{RUN_ID}"
    r = call(lb, "GET", "/health", headers={"X-Request-Id": rid})
    servers = [args.a_log, args.b_log]
    if (
        r.headers.get("x-request-id") == rid
        and logged_in(servers, f"request_id={rid} ")
        and logged_in(args.access_log, f"rid={rid} ")
    ):
        checks.ok("the client's X-Request-Id reaches the instance (its log) and comes back, and nginx logs it")
    else:
        checks.fail("the client's X-Request-Id passes through nginx", r)
    r = call(lb, "GET", "/health")
    nginx_id = r.headers.get("x-request-id", "")
    if (
        re.fullmatch(r"[0-9a-f]{32}", nginx_id)
        and logged_in(servers, f"request_id={nginx_id} ")
        and logged_in(args.access_log, f"rid={nginx_id} ")
    ):
        checks.ok("without X-Request-Id, nginx's $request_id is the id in nginx's log, the server's log and the answer")
    else:
        checks.fail("without X-Request-Id, nginx's $request_id is used end to end", r)

    # Both instances get requests (round robin, no stickiness needed).
    ids = [f"scaleout-rr-{RUN_ID}-{i}" for i in range(6)]
    for rid in ids:
        call(lb, "GET", "/health", headers={"X-Request-Id": rid})
    # An instance logs a request before it answers; allow a moment anyway.
    logged_in(servers, f"request_id={ids[-1]} ")
    on_a = sum(f"request_id={rid} " in read(args.a_log) for rid in ids)
    on_b = sum(f"request_id={rid} " in read(args.b_log) for rid in ids)
    if on_a and on_b and on_a + on_b == len(ids):
        checks.ok(f"nginx spreads requests over both instances ({on_a} on A, {on_b} on B)")
    else:
        checks.fail(f"nginx spreads requests over both instances: {on_a} on A, {on_b} on B of {len(ids)}")

    # The API through nginx: the cookie and the bearer token work whichever
    # instance answers.
    token = register_and_login(lb, f"via.nginx.{RUN_ID}", checks)
    if token:
        for _ in range(2):  # twice: one lands on each instance
            checks.expect("/protected through nginx with the cookie", call(lb, "GET", "/protected", headers=cookie(token)), 200)
            checks.expect("/protected through nginx with the bearer token", call(lb, "GET", "/protected", headers=bearer(token)), 200)
        checks.expect("logout through nginx", call(lb, "POST", "/logout", headers=cookie(token)), 200)
        expect_refused(checks, lb, token, "the token through nginx after the logout")

    # The per-address login budget keys on the client nginx reports.
    client, other, budget = "203.0.113.7", "198.51.100.23", args.ip_budget
    failures = [
        call(lb, "POST", "/login", {"username": f"nobody-{i}.{RUN_ID}", "password": WRONG_PASSWORD},
             headers={"X-Forwarded-For": client})
        for i in range(budget)
    ]
    if all(f.status == 401 for f in failures):
        checks.ok(f"{budget} failed logins (distinct unknown users) through nginx as client {client}: 401 each")
    else:
        checks.fail(f"{budget} failed logins through nginx as {client}: 401 each",
                    *[f for f in failures if f.status != 401][:2])
    over = call(lb, "POST", "/login", {"username": f"nobody-x.{RUN_ID}", "password": WRONG_PASSWORD},
                headers={"X-Forwarded-For": client})
    checks.expect(f"the next login as {client} is over its budget", over, 429, "too_many_attempts", retry_after=True)
    r = call(lb, "POST", "/login", {"username": f"nobody-y.{RUN_ID}", "password": WRONG_PASSWORD},
             headers={"X-Forwarded-For": other})
    checks.expect(f"another client ({other}) through nginx has its own budget", r, 401, "invalid_credentials")
    r = call(lb, "POST", "/login", {"username": f"nobody-z.{RUN_ID}", "password": WRONG_PASSWORD},
             headers={"X-Forwarded-For": client}, source="127.0.0.2")
    checks.expect(
        f"from 127.0.0.2 (not trusted) a forged 'X-Forwarded-For: {client}' is ignored: nginx appends 127.0.0.2, "
        "the budget is 127.0.0.2's",
        r, 401, "invalid_credentials",
    )
    r = call(args.a, "POST", "/login", {"username": f"nobody-w.{RUN_ID}", "password": WRONG_PASSWORD})
    checks.expect("a direct login to A (client 127.0.0.1) is not throttled either", r, 401, "invalid_credentials")


def access_entries(path: str, prefix: str) -> list[str]:
    return [line for line in read(path).splitlines() if f"rid={prefix}" in line]


def failover(checks: Checks, args) -> None:
    lb = args.lb
    login = call(lb, "POST", "/login", {"username": f"via.nginx.{RUN_ID}", "password": PASSWORD},
                 headers={"X-Request-Id": f"failover-{RUN_ID}-login"})
    if not checks.expect("with B stopped, a login through nginx works (retried on A: B refused the connection)", login, 200):
        return
    token = login.json["token"]
    answers = [
        call(lb, "GET", "/protected", headers={**bearer(token), "X-Request-Id": f"failover-{RUN_ID}-{i}"})
        for i in range(8)
    ]
    if all(a.status == 200 for a in answers):
        checks.ok("with B stopped, 8 × /protected through nginx: all 200")
    else:
        checks.fail("with B stopped, /protected through nginx: all 200", *[a for a in answers if a.status != 200][:2])
    wait_for(lambda: len(access_entries(args.access_log, f"failover-{RUN_ID}-")) >= 9, 3.0, 0.05)
    entries = access_entries(args.access_log, f"failover-{RUN_ID}-")
    tried_b = [e for e in entries if f":{args.b_port}" in e]
    last = entries[-3:]
    if len(entries) == 9 and len(tried_b) <= 3 and not any(f":{args.b_port}" in e for e in last):
        checks.ok(f"max_fails: nginx tried B for {len(tried_b)} of 9 requests, then stopped trying it")
    else:
        checks.fail(
            "max_fails=3: nginx stops trying the stopped instance",
            detail=f"{len(tried_b)} of {len(entries)} logged requests went to B; access log:\n      " + "\n      ".join(entries),
        )


def all_down(checks: Checks, args) -> None:
    for method, path, body in (("GET", "/protected", None), ("POST", "/login", {"username": "x.user", "password": PASSWORD})):
        r = call(args.lb, method, path, body)
        checks.expect(f"{method} {path} with no instance up: nginx answers JSON", r, 503, "server_busy", retry_after=True)


# ---- entry point ----------------------------------------------------------------


def two_instances(checks: Checks, args) -> None:
    sessions_cross_instances(checks, args.a, args.b)
    revocation_across_instances(checks, args.a, args.b, args.revocation_rounds)
    shared_backoff(checks, args.a, args.b)
    registration_race(checks, args.a, args.b)


MODES = {"two-instances": two_instances, "serve": serve, "failover": failover, "all-down": all_down}


def run() -> int:
    parser = argparse.ArgumentParser()
    modes = parser.add_subparsers(dest="mode", required=True)
    pair = modes.add_parser("two-instances", help="the instances directly")
    pair.add_argument("--a", required=True)
    pair.add_argument("--b", required=True)
    pair.add_argument(
        "--revocation-rounds", type=int, default=int(os.environ.get("E2E_SCALEOUT_REVOCATION_ROUNDS", "25"))
    )
    for mode in ("serve", "failover", "all-down"):
        nginx = modes.add_parser(mode, help="through nginx")
        nginx.add_argument("--lb", required=True)
        nginx.add_argument("--a")
        nginx.add_argument("--a-log")
        nginx.add_argument("--b-log")
        nginx.add_argument("--b-port")
        nginx.add_argument("--access-log")
        nginx.add_argument("--ip-budget", type=int, default=50)
    args = parser.parse_args()
    checks = Checks("two-instances" if args.mode == "two-instances" else f"via-nginx {args.mode}")
    MODES[args.mode](checks, args)
    return checks.finish()


if __name__ == "__main__":
    main_guard(run)
