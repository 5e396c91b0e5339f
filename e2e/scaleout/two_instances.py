"""Two auth-server instances on one PostgreSQL database behave as one service.

    python3 two_instances.py --a http://127.0.0.1:PORT_A --b http://127.0.0.1:PORT_B

Run by e2e/scale-out.sh on a fresh database. Checks:
- a session made on one instance works on the other, as cookie and bearer;
- a logout on one instance is refused on the other at once (no sleep), also
  when the other had the session in its cache (the LISTEN/NOTIFY feed), both
  ways, over several rounds (the feed is asynchronous: a race would show
  here);
- failed logins spread over both instances add up to one back-off;
- 20 simultaneous registrations of one name over both: exactly one 201.

Prints one line per check and "two-instances: N passed, M failed".
"""

from __future__ import annotations

import argparse
import os
import threading
import time
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


def cache_entries(base: str) -> int:
    """auth_session_cache_entries from /metrics (-1 if unreadable)."""
    r = call(base, "GET", "/metrics")
    for line in r.text.splitlines():
        if line.startswith("auth_session_cache_entries "):
            return int(float(line.split()[1]))
    return -1


def wait_until_caching(base: str, token: str, seconds: float = 15.0) -> bool:
    """Uses the session on `base` until its cache holds it: the cache is
    suspended until the revocation feed is connected, and a check of
    cross-instance revocation is only meaningful against a serving cache."""

    def cached():
        call(base, "GET", "/protected", headers=bearer(token))
        return cache_entries(base) > 0

    return bool(wait_for(cached, seconds, 0.2))


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


def revocation_feed(checks: Checks, a: str, b: str, rounds: int, max_stale: float) -> None:
    """A session cached on one instance, revoked through the other, is
    refused by the first at once. Both directions, `rounds` times each.

    When the first instance still accepts it right after the logout (the
    NOTIFY has not been applied yet), the check polls until it is refused and
    records how long that took. Refused within `max_stale` seconds: the feed
    works, and the delay is the known issue reported to the server's
    developers. Never refused within it: the feed does not work (a failure).
    """
    r = call(a, "POST", "/register", {"username": f"feed.user.{RUN_ID}", "password": PASSWORD})
    if not checks.expect("register feed.user", r, 201):
        return
    for cached_on, revoked_on, name in ((a, b, "A"), (b, a, "B")):
        other = "B" if name == "A" else "A"
        login = call(cached_on, "POST", "/login", {"username": f"feed.user.{RUN_ID}", "password": PASSWORD})
        if not checks.expect(f"log in on {name}", login, 200):
            return
        if not wait_until_caching(cached_on, login.json["token"]):
            checks.fail(
                f"{name} caches sessions (auth_session_cache_entries > 0 after /protected): "
                "the revocation feed never connected",
                call(cached_on, "GET", "/metrics"),
            )
            return
        checks.ok(f"{name}'s session cache is serving (revocation feed connected)")
        stale = []  # (logout, first stale answer, seconds until refused or None)
        for _ in range(rounds):
            login = call(cached_on, "POST", "/login", {"username": f"feed.user.{RUN_ID}", "password": PASSWORD})
            token = (login.json or {}).get("token")
            if login.status != 200 or not token:
                checks.fail(f"log in on {name}", login)
                return
            warm = [call(cached_on, "GET", "/protected", headers=bearer(token)) for _ in range(2)]
            out = call(revoked_on, "POST", "/logout", headers=bearer(token))
            logged_out = time.monotonic()
            after = call(cached_on, "GET", "/protected", headers=bearer(token))
            if any(w.status != 200 for w in warm) or out.status != 200:
                checks.fail("session use and logout", *warm, out)
                return
            if after.status == 200:
                refused = wait_for(
                    lambda: call(cached_on, "GET", "/protected", headers=bearer(token)).status == 401,
                    max_stale,
                    0.002,
                )
                stale.append((out, after, time.monotonic() - logged_out if refused else None))
            elif after.code != "unauthorized":
                checks.fail(f"/protected on {name} after the logout on {other}", after)
                return
        never = [s for s in stale if s[2] is None]
        if never:
            out, after, _ = never[0]
            checks.fail(
                f"session cached on {name}, logged out on {other}: {name} refuses it",
                out,
                after,
                detail=f"still accepted {max_stale:.0f} s after the logout in {len(never)} of {rounds} rounds: "
                "the revocation feed does not reach it",
            )
        elif stale:
            out, after, _ = stale[0]
            worst = max(s[2] for s in stale)
            checks.ok(f"session cached on {name}, logged out on {other}: refused within {worst * 1000:.0f} ms in every round")
            checks.known_issue(
                f"session cached on {name}, logged out on {other}: {name} answers 401 at once",
                out,
                after,
                detail=f"{name} still accepted the revoked session right after the logout's 200 in "
                f"{len(stale)} of {rounds} rounds, for up to {worst * 1000:.0f} ms (NOTIFY not applied yet); first case below",
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


def run() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--a", required=True)
    parser.add_argument("--b", required=True)
    parser.add_argument(
        "--revocation-rounds", type=int, default=int(os.environ.get("E2E_SCALEOUT_REVOCATION_ROUNDS", "25"))
    )
    parser.add_argument(
        "--max-stale",
        type=float,
        default=2.0,
        help="seconds an instance may take to apply another's logout before the feed counts as broken",
    )
    args = parser.parse_args()
    checks = Checks("two-instances")
    sessions_cross_instances(checks, args.a, args.b)
    revocation_feed(checks, args.a, args.b, args.revocation_rounds, args.max_stale)
    shared_backoff(checks, args.a, args.b)
    registration_race(checks, args.a, args.b)
    return checks.finish()


if __name__ == "__main__":
    main_guard(run)
