"""Schemathesis hooks for e2e/fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

Auth for the session operations (GET /protected, POST /logout, GET /logout):
every test case registers a new user and logs in (refresh_interval=None), so
it has its own session:
- a fuzzed /logout that succeeds revokes only that case's session, and the
  other cases still reach the code behind the session check;
- schemathesis learns usernames from /protected responses and replays them
  to /login with random passwords; that puts those accounts into login
  back-off (429, as designed), and a fresh user per case is never among them.
Cases alternate between the two declared schemes: `Authorization: Bearer
<token>` (bearer_token) and `Cookie: session=<token>` (session_cookie).

Environment (set by fuzz.sh): E2E_BASE_URL.
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading

import requests
import schemathesis

BASE_URL = os.environ["E2E_BASE_URL"]
PASSWORD = "quartz lagoon whistle 64 gently"

_turn = itertools.count()
_lock = threading.Lock()
_http = requests.Session()


@schemathesis.auth(refresh_interval=None).apply_to(path="/protected").apply_to(path="/logout")
class FreshSession:
    def get(self, case, ctx):
        creds = {"username": f"fz_{secrets.token_hex(6)}", "password": PASSWORD}
        resp = _http.post(f"{BASE_URL}/register", json=creds, timeout=10)
        if resp.status_code != 201:
            raise RuntimeError(f"register for a fuzz session failed: {resp.status_code} {resp.text[:200]}")
        resp = _http.post(f"{BASE_URL}/login", json=creds, timeout=10)
        # The session cookie must not ride along in _http's jar.
        _http.cookies.clear()
        if resp.status_code != 200:
            raise RuntimeError(f"login for a fuzz session failed: {resp.status_code} {resp.text[:200]}")
        return resp.json()["token"]

    def set(self, case, token, ctx):
        with _lock:
            use_cookie = next(_turn) % 2 == 1
        case.headers = dict(case.headers or {})
        if use_cookie:
            case.headers.pop("Authorization", None)
            case.cookies = {**(case.cookies or {}), "session": token}
        else:
            if case.cookies:
                case.cookies.pop("session", None)
            case.headers["Authorization"] = f"Bearer {token}"
