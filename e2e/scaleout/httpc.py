"""HTTP calls and check bookkeeping for the scale-out and outage checks.

Standard library only (http.client, not urllib: no proxy environment
variables are honoured, and a source address can be chosen). Every call
returns a Resp that remembers the request, so a failed check prints the exact
request and response, ready to paste into a bug report.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import string
import sys
import time
import urllib.parse
from dataclasses import dataclass, field

# A password the policy accepts (15+ characters, zxcvbn score >= 3).
PASSWORD = "quartz lagoon whistle 64 gently"
# Appended to usernames, so that a rerun against the same database works;
# E2E_RUN_ID keeps it across the helper runs of one check script.
RUN_ID = os.environ.get("E2E_RUN_ID") or "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
# Known server issues (see Checks.known_issue) fail unless E2E_STRICT=0:
# the ones reported so far are fixed, so a recurrence is a regression.
STRICT = os.environ.get("E2E_STRICT", "1") == "1"
WRONG_PASSWORD = "not the password at all 17"


@dataclass
class Resp:
    """One request and its answer (status 0: no answer, see `error`)."""

    method: str
    url: str
    req_headers: dict
    req_body: str | None
    status: int = 0
    headers: dict = field(default_factory=dict)  # lower-case names
    text: str = ""
    elapsed: float = 0.0
    error: str | None = None

    @property
    def json(self):
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    @property
    def code(self):
        body = self.json
        return body.get("code") if isinstance(body, dict) else None

    def cookie(self, name: str = "session") -> str | None:
        """The value of `name` in this response's Set-Cookie, if any."""
        for line in self.headers.get("set-cookie", "").split("\n"):
            first = line.split(";", 1)[0].strip()
            if first.startswith(name + "="):
                return first[len(name) + 1 :]
        return None

    def describe(self) -> str:
        """The exchange as text: request line, headers, body; then the answer."""
        lines = [f"    > {self.method} {self.url}"]
        lines += [f"    > {k}: {v}" for k, v in self.req_headers.items()]
        if self.req_body is not None:
            lines.append(f"    > {self.req_body}")
        if self.error:
            lines.append(f"    < no answer after {self.elapsed:.2f}s: {self.error}")
        else:
            lines.append(f"    < {self.status} (after {self.elapsed:.3f}s)")
            lines += [
                f"    < {k}: {v}"
                for k, v in self.headers.items()
                if k in ("content-type", "retry-after", "x-request-id", "set-cookie")
            ]
            lines.append(f"    < {self.text[:500]}")
        return "\n".join(lines)


def call(
    base: str,
    method: str,
    path: str,
    body=None,
    headers: dict | None = None,
    timeout: float = 15.0,
    source: str | None = None,
) -> Resp:
    """One request to `base` + `path`; never raises for HTTP or network errors.

    `body` (a dict) is sent as JSON. `source` binds the client socket to that
    local address (e.g. 127.0.0.2), to look like another client.
    """
    parsed = urllib.parse.urlsplit(base)
    req_headers = dict(headers or {})
    payload = None
    if body is not None:
        payload = json.dumps(body)
        req_headers.setdefault("Content-Type", "application/json")
    shown_body = payload
    if isinstance(body, dict) and "password" in body:
        shown_body = json.dumps({**body, "password": "<redacted>"})
    resp = Resp(method, base + path, req_headers, shown_body)
    started = time.monotonic()
    conn = http.client.HTTPConnection(
        parsed.hostname,
        parsed.port,
        timeout=timeout,
        source_address=(source, 0) if source else None,
    )
    try:
        conn.request(method, path, body=payload, headers=req_headers)
        answer = conn.getresponse()
        resp.status = answer.status
        merged: dict = {}
        for name, value in answer.getheaders():
            key = name.lower()
            merged[key] = f"{merged[key]}\n{value}" if key in merged else value
        resp.headers = merged
        resp.text = answer.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as error:
        resp.error = f"{type(error).__name__}: {error}"
    finally:
        resp.elapsed = time.monotonic() - started
        conn.close()
    return resp


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def cookie(token: str) -> dict:
    return {"Cookie": f"session={token}"}


class Checks:
    """Counts checks and prints one line per check, then the summary line
    "<name>: N passed, M failed" that e2e_step adds to the script's totals."""

    def __init__(self, name: str):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.known: list[str] = []
        self.started = time.monotonic()

    def log(self, message: str) -> None:
        print(f"  [{self.name} {time.monotonic() - self.started:5.1f}s] {message}", flush=True)

    def ok(self, label: str) -> None:
        self.passed += 1
        self.log(f"ok: {label}")

    def fail(self, label: str, *exchanges: Resp, detail: str = "") -> None:
        self.failed += 1
        self.log(f"FAILED: {label}{': ' + detail if detail else ''}")
        for exchange in exchanges:
            print(exchange.describe(), flush=True)

    def known_issue(self, label: str, *exchanges: Resp, detail: str = "") -> None:
        """A check the server fails today, reported to its developers: printed
        in full, and counted as a failure unless E2E_STRICT=0, so that the
        other checks keep guarding against regressions meanwhile."""
        if STRICT:
            self.fail(label, *exchanges, detail=detail)
            return
        self.known.append(label)
        self.log(f"KNOWN ISSUE (E2E_STRICT=0 would not count it): {label}{': ' + detail if detail else ''}")
        for exchange in exchanges:
            print(exchange.describe(), flush=True)

    def expect(
        self,
        label: str,
        resp: Resp,
        status: int,
        code: str | None = None,
        retry_after: bool = False,
        max_seconds: float | None = None,
    ) -> bool:
        """Passes when `resp` has `status`, a JSON body with `code` (when
        given), a Retry-After of at least 1 s (when asked) and came within
        `max_seconds` (when given)."""
        problems = []
        if resp.status != status:
            problems.append(f"expected {status}, got {resp.status or 'no answer'}")
        if code is not None and resp.code != code:
            problems.append(f"expected code {code!r}, got {resp.code!r}")
        if code is not None and not resp.headers.get("content-type", "").startswith(
            "application/json"
        ):
            problems.append("the body is not JSON")
        if retry_after:
            value = resp.headers.get("retry-after", "")
            if not value.isdigit() or int(value) < 1:
                problems.append(f"Retry-After is {value!r}, expected whole seconds >= 1")
        if max_seconds is not None and resp.elapsed >= max_seconds:
            problems.append(f"took {resp.elapsed:.2f}s, limit {max_seconds}s")
        if problems:
            self.fail(label, resp, detail="; ".join(problems))
            return False
        self.ok(f"{label} ({resp.status}{' ' + code if code else ''}, {resp.elapsed * 1000:.0f} ms)")
        return True

    def finish(self) -> int:
        for label in self.known:
            print(f"{self.name}: known issue: {label}", flush=True)
        print(f"{self.name}: {self.passed} passed, {self.failed} failed", flush=True)
        return 0 if self.failed == 0 and self.passed > 0 else 1


def register_and_login(base: str, username: str, checks: Checks, login_base: str | None = None):
    """Registers `username` on `base`, logs in on `login_base` (default the
    same); returns the token (the cookie equals the token) or None."""
    r = call(base, "POST", "/register", {"username": username, "password": PASSWORD})
    if not checks.expect(f"register {username} on {base}", r, 201):
        return None
    login = call(login_base or base, "POST", "/login", {"username": username, "password": PASSWORD})
    if not checks.expect(f"log in {username} on {login_base or base}", login, 200):
        return None
    token = (login.json or {}).get("token")
    if not token or login.cookie() != token:
        checks.fail("the login answer carries the token as body field and session cookie", login)
        return None
    return token


def wait_for(predicate, timeout: float, interval: float = 0.1):
    """Polls `predicate()` until it returns a truthy value or `timeout` passes;
    returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def main_guard(run) -> None:
    """Runs `run()` (which returns an exit code); a crash is a failure."""
    try:
        sys.exit(run())
    except SystemExit:
        raise
    except BaseException as error:  # noqa: BLE001 - report, then fail
        import traceback

        traceback.print_exc()
        print(f"crashed: {error}", flush=True)
        sys.exit(2)
