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

POST /register states its lengths in the schema (username 3-64, password
15-256 characters), so schemathesis.toml accepts its 400 for schema-valid
bodies only because of the rules the schema cannot state;
`register_refuses_valid_bodies_only_for_rules_the_schema_cannot_state` below
holds it to that: such a 400 must be `invalid_username` or `weak_password`,
and never the length rule the schema already stated.

Environment (set by fuzz.sh): E2E_BASE_URL.
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading
import unicodedata

import requests
import schemathesis

BASE_URL = os.environ["E2E_BASE_URL"]
PASSWORD = "quartz lagoon whistle 64 gently"

# The lengths /register's schema states (docs/openapi.json, `Registration`).
USERNAME_CHARS = (3, 64)
PASSWORD_CHARS = (15, 256)
# How the server's length refusals begin (auth-core UsernameError::TooShort/
# TooLong, PasswordError::TooShort/TooLong/TooManyBytes).
USERNAME_LENGTH_MESSAGES = ("username must be at least", "username must be at most")
PASSWORD_LENGTH_MESSAGES = ("password must be at least", "password must be at most")

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


def _has_lone_surrogate(text: str) -> bool:
    # JSON text that encodes one (`"\ud800"`) is not valid Unicode: the
    # server's parser refuses it, which no schema can state.
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


@schemathesis.check
def register_refuses_valid_bodies_only_for_rules_the_schema_cannot_state(ctx, response, case):
    """A schema-valid POST /register body may be refused (400) only for what
    the schema cannot say: the username's alphabet or its length after NFKC
    normalisation (`invalid_username`), the password's guessability or its
    containing the username (`weak_password`). Never for a length the schema
    already states."""
    meta = case.meta
    if (
        case.operation.path != "/register"
        or case.method.upper() != "POST"
        or meta is None
        or not meta.generation.mode.is_positive
        or response.status_code != 400
    ):
        return None
    body = case.body if isinstance(case.body, dict) else {}
    username, password = body.get("username"), body.get("password")
    if not (isinstance(username, str) and isinstance(password, str)):
        return None  # not a body the schema describes: nothing to hold it to
    try:
        answer = response.json()
    except ValueError as exc:
        raise AssertionError(f"400 without a JSON body: {response.text[:200]!r}") from exc
    code, message = answer.get("code"), str(answer.get("error", ""))
    if code == "invalid_request" and (_has_lone_surrogate(username) or _has_lone_surrogate(password)):
        return None
    if code == "invalid_username":
        normalised = len(unicodedata.normalize("NFKC", username))
        if message.startswith(USERNAME_LENGTH_MESSAGES) and USERNAME_CHARS[0] <= normalised <= USERNAME_CHARS[1]:
            raise AssertionError(
                f"a {len(username)}-character username ({normalised} after NFKC) refused for its length: {message}"
            )
        return None
    if code == "weak_password":
        if message.startswith(PASSWORD_LENGTH_MESSAGES):
            raise AssertionError(
                f"a {len(password)}-character password, within the schema's "
                f"{PASSWORD_CHARS[0]}-{PASSWORD_CHARS[1]}, refused for its length: {message}"
            )
        return None
    raise AssertionError(f"a schema-valid body refused with 400 {code}: {message}")
