"""Schemathesis hooks for e2e/fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

Auth for every operation that needs a session: GET /protected, POST and GET
/logout, and the account routes (GET /me, POST /me/delete, GET /me/events,
GET /sessions, DELETE /sessions/{id}, POST /sessions/revoke-others,
POST /logout/everywhere, POST /password). Every test case registers a new
user and logs in (refresh_interval=None: nothing is cached), so it has its
own account and session:
- nothing is shared between cases, so the routes that destroy a session or
  an account (/logout, /logout/everywhere, DELETE /sessions/{id},
  /password, /me/delete) can be given a live session too: a case that
  succeeds ends only its own session or deletes only its own user, and the
  other cases still reach the code behind the session check;
- schemathesis learns usernames from /protected and /me responses and
  replays them to /login with random passwords; that puts those accounts
  into login back-off (429, as designed), and a fresh user per case is never
  among them.
Cases alternate between the two declared schemes: `Authorization: Bearer
<token>` (bearer_token) and `Cookie: session=<token>` (session_cookie).

The account routes get more than a bare session, so that schemathesis
reaches their success paths and not only their refusals:
- a second session of the same user (logged in from another "device"), so
  that /sessions lists two, /sessions/revoke-others, /logout/everywhere and
  /password have another session to end;
- on every other case, the case's real password in place of a generated
  `current_password` (/password) or `password` (/me/delete), and the
  caller's own session id (or the other session's) in place of a generated
  `{id}` (DELETE /sessions/{id}). Only a value that already has the schema's
  type (a string) is replaced, so a case generated to break the schema
  still breaks it, and the other half of the cases keep schemathesis's own
  values (wrong passwords -> 401 invalid_credentials, unknown ids -> 404).

POST /register states its lengths in the schema (username 3-64, password
15-256 characters), so schemathesis.toml accepts its 400 for schema-valid
bodies only because of the rules the schema cannot state;
`register_refuses_valid_bodies_only_for_rules_the_schema_cannot_state` below
holds it to that: such a 400 must be `invalid_username` or `weak_password`,
and never the length rule the schema already stated.
`password_change_refuses_valid_bodies_only_for_the_policy` does the same for
POST /password's `new_password` (only `weak_password`, never its length).
/register's optional `email` may also be refused as `invalid_email` (the
schema states its length, not its syntax). PUT /me/email is an account
route too: a live session, and the real password on every other case.

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

# The account routes: a second session and real values (see above).
ACCOUNT_PATHS = {
    "/me",
    "/me/delete",
    "/me/events",
    "/sessions",
    "/sessions/{id}",
    "/sessions/revoke-others",
    "/logout/everywhere",
    "/password",
    "/me/email",
}
# The second-factor routes that take the password: the real one on every
# other case, so setup reaches its 200 (and disable its 409 mfa_not_enabled).
MFA_PASSWORD_PATHS = ("/mfa/totp/setup", "/mfa/totp/disable", "/mfa/recovery-codes")
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


def _next_turn() -> int:
    with _lock:
        return next(_turn)


def _login(creds: dict, user_agent: str) -> str:
    resp = _http.post(f"{BASE_URL}/login", json=creds, headers={"User-Agent": user_agent}, timeout=10)
    # The session cookie must not ride along in _http's jar.
    _http.cookies.clear()
    if resp.status_code != 200:
        raise RuntimeError(f"login for a fuzz session failed: {resp.status_code} {resp.text[:200]}")
    return resp.json()["token"]


def _session_ids(token: str) -> tuple[str | None, str | None]:
    """(the caller's session id, another session's id) from GET /sessions."""
    resp = _http.get(f"{BASE_URL}/sessions", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    _http.cookies.clear()
    if resp.status_code != 200:
        raise RuntimeError(f"GET /sessions for a fuzz session failed: {resp.status_code} {resp.text[:200]}")
    sessions = resp.json()["sessions"]
    own = next((s["id"] for s in sessions if s["current"]), None)
    other = next((s["id"] for s in sessions if not s["current"]), None)
    return own, other


@(
    schemathesis.auth(refresh_interval=None)
    .apply_to(path="/protected")
    .apply_to(path="/logout")
    .apply_to(path="/me")
    .apply_to(path="/me/delete")
    .apply_to(path="/me/events")
    .apply_to(path="/sessions")
    .apply_to(path="/sessions/{id}")
    .apply_to(path="/sessions/revoke-others")
    .apply_to(path="/logout/everywhere")
    .apply_to(path="/password")
    .apply_to(path="/me/email")
    .apply_to(path="/mfa/totp/setup")
    .apply_to(path="/mfa/totp/confirm")
    .apply_to(path="/mfa/totp/disable")
    .apply_to(path="/mfa/recovery-codes")
)
class FreshSession:
    def get(self, case, ctx):
        creds = {"username": f"fz_{secrets.token_hex(6)}", "password": PASSWORD}
        resp = _http.post(f"{BASE_URL}/register", json=creds, timeout=10)
        if resp.status_code != 201:
            raise RuntimeError(f"register for a fuzz session failed: {resp.status_code} {resp.text[:200]}")
        account = case.operation.path in ACCOUNT_PATHS
        if account:
            # The other device first: the case's own session is the newest.
            _login(creds, "fuzz other device")
        token = _login(creds, "fuzz case")
        own = other = None
        if case.operation.path == "/sessions/{id}":
            own, other = _session_ids(token)
        return {"token": token, "password": PASSWORD, "own_id": own, "other_id": other}

    def set(self, case, data, ctx):
        turn = _next_turn()
        token = data["token"]
        case.headers = dict(case.headers or {})
        if turn % 2 == 1:
            case.headers.pop("Authorization", None)
            case.cookies = {**(case.cookies or {}), "session": token}
        else:
            if case.cookies:
                case.cookies.pop("session", None)
            case.headers["Authorization"] = f"Bearer {token}"

        # Real values on every other case (by a second, independent bit, so
        # both carriers get both kinds of value).
        if (turn // 2) % 2 == 0:
            return
        path = case.operation.path
        body = case.body if isinstance(case.body, dict) else None
        if path == "/password" and body is not None and isinstance(body.get("current_password"), str):
            case.body = {**body, "current_password": data["password"]}
        elif path in MFA_PASSWORD_PATHS + ("/me/delete", "/me/email") and body is not None and isinstance(body.get("password"), str):
            case.body = {**body, "password": data["password"]}
        elif path == "/sessions/{id}" and isinstance((case.path_parameters or {}).get("id"), str):
            chosen = data["own_id"] if (turn // 4) % 2 == 0 else data["other_id"]
            if chosen:
                case.path_parameters = {**case.path_parameters, "id": chosen}

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
    email = body.get("email")
    try:
        answer = response.json()
    except ValueError as exc:
        raise AssertionError(f"400 without a JSON body: {response.text[:200]!r}") from exc
    code, message = answer.get("code"), str(answer.get("error", ""))
    if code == "invalid_request" and (_has_lone_surrogate(username) or _has_lone_surrogate(password)):
        return None
    if code == "invalid_email" and isinstance(email, str):
        return None  # the schema states neither the email's syntax nor its length
    if code == "invalid_request" and isinstance(email, str) and _has_lone_surrogate(email):
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


@schemathesis.check
def password_change_refuses_valid_bodies_only_for_the_policy(ctx, response, case):
    """The same rule for POST /password (schemathesis.toml accepts its 400 for
    schema-valid bodies): such a 400 must be `weak_password` for a reason
    other than the length the schema states for `new_password`."""
    meta = case.meta
    if (
        case.operation.path != "/password"
        or case.method.upper() != "POST"
        or meta is None
        or not meta.generation.mode.is_positive
        or response.status_code != 400
    ):
        return None
    body = case.body if isinstance(case.body, dict) else {}
    current, new = body.get("current_password"), body.get("new_password")
    if not (isinstance(current, str) and isinstance(new, str)):
        return None
    try:
        answer = response.json()
    except ValueError as exc:
        raise AssertionError(f"400 without a JSON body: {response.text[:200]!r}") from exc
    code, message = answer.get("code"), str(answer.get("error", ""))
    if code == "invalid_request" and (_has_lone_surrogate(current) or _has_lone_surrogate(new)):
        return None
    if code == "weak_password" and not message.startswith(PASSWORD_LENGTH_MESSAGES):
        return None
    raise AssertionError(f"a schema-valid POST /password body refused with 400 {code}: {message}")
