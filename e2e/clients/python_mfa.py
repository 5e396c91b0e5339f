"""End-to-end check of two-factor login through the Python client that
openapi-python-client generates from docs/openapi.json (see python_check.py;
run by e2e/clients.sh with the generated package on PYTHONPATH).

usage: python python_mfa.py <base url>

A fresh user enrols TOTP: totp_setup (password) returns the base32 secret,
its otpauth:// URI and an SVG QR code; pyotp, as the authenticator app,
computes the code that totp_confirm takes, which answers ten recovery codes
and makes get_me show mfa.totp. From then on login answers 401 mfa_required
(LoginErrorUnauthorized with mfa_token, methods, expires_at): a wrong code
at login_mfa is 401 invalid_code, the next step's code logs in (200, the
token works at /protected), and the same mfa_token again is 400
invalid_token. A recovery code completes a second login once (one code
fewer in get_me) and fails a third (401 invalid_code). A password change
without a code is 401 invalid_code; with a recovery code it is 200.
"""

from __future__ import annotations

import secrets
import sys
import time
from http import HTTPStatus

import pyotp

from auth_service_client import AuthenticatedClient, Client
from auth_service_client.api.account import change_password, get_me
from auth_service_client.api.auth import login, login_mfa, register
from auth_service_client.api.mfa import totp_confirm, totp_setup
from auth_service_client.api.session import protected
from auth_service_client.models import (
    ChangePasswordRequest,
    CodeRequest,
    Credentials,
    LoggedInBody,
    LoginErrorUnauthorized,
    LoginMfaRequest,
    MeBody,
    PasswordRequest,
    RecoveryCodesBody,
    Registration,
    TotpSetupBody,
)
from tally import check, code_of, describe, is_error, run


PASSWORD = "amber falcon quietly 58 harbor"
NEW_PASSWORD = "copper lantern drifts 94 northward"


def mfa_required(anon: Client, username: str, password: str, what: str) -> str | None:
    """Logs in with the right password; the mfa_token of the 401 answer."""
    r = login.sync_detailed(client=anon, body=Credentials(username=username, password=password))
    parsed = r.parsed
    ok = check(
        r.status_code == HTTPStatus.UNAUTHORIZED
        and isinstance(parsed, LoginErrorUnauthorized)
        and code_of(r) == "mfa_required"
        and isinstance(parsed.mfa_token, str)
        and sorted(m.value for m in parsed.methods) == ["recovery_code", "totp"],
        f"{what}: login -> 401 mfa_required with an mfa_token and methods [totp, recovery_code]",
        describe(r),
    )
    return parsed.mfa_token if ok else None


def main(base_url: str) -> None:
    common = dict(base_url=base_url, raise_on_unexpected_status=True, timeout=10.0)
    anon = Client(**common)
    username = f"mfa_{secrets.token_hex(5)}"

    r = register.sync_detailed(client=anon, body=Registration(username=username, password=PASSWORD))
    check(r.status_code == HTTPStatus.CREATED, "register -> 201", describe(r))
    r = login.sync_detailed(client=anon, body=Credentials(username=username, password=PASSWORD))
    if not check(isinstance(r.parsed, LoggedInBody), "login without a second factor -> 200", describe(r)):
        return
    me = AuthenticatedClient(token=r.parsed.token, **common)

    r = totp_setup.sync_detailed(client=me, body=PasswordRequest(password=PASSWORD))
    if not check(isinstance(r.parsed, TotpSetupBody), "totp_setup -> 200 TotpSetupBody", describe(r)):
        return
    setup = r.parsed
    check(
        setup.otpauth_uri.startswith("otpauth://totp/") and f"secret={setup.secret}" in setup.otpauth_uri,
        "the otpauth URI carries the secret",
        setup.otpauth_uri,
    )
    check("<svg" in setup.qr_svg, "the QR code is an SVG document", setup.qr_svg[:80])
    # The app is set up from the URI, as a phone scanning the QR code would be.
    app = pyotp.parse_uri(setup.otpauth_uri)
    check(app.secret == setup.secret, "pyotp reads the same secret from the URI")

    r = login.sync_detailed(client=anon, body=Credentials(username=username, password=PASSWORD))
    check(r.status_code == HTTPStatus.OK, "before confirmation, login still needs the password only", describe(r))

    now = time.time()
    r = totp_confirm.sync_detailed(client=me, body=CodeRequest(code=app.at(now)))
    if not check(
        isinstance(r.parsed, RecoveryCodesBody) and len(r.parsed.recovery_codes) == 10,
        "totp_confirm with pyotp's code -> 200 and 10 recovery codes",
        describe(r),
    ):
        return
    recovery = r.parsed.recovery_codes
    check(len(set(recovery)) == 10, "the recovery codes are distinct", recovery)

    r = get_me.sync_detailed(client=me)
    check(
        isinstance(r.parsed, MeBody) and r.parsed.mfa.totp and r.parsed.mfa.recovery_codes_left == 10,
        "get_me: mfa.totp true, 10 recovery codes left",
        describe(r),
    )

    token = mfa_required(anon, username, PASSWORD, "TOTP")
    if token is None:
        return
    wrong = "000000" if app.at(now + 30) != "000000" else "111111"
    r = login_mfa.sync_detailed(client=anon, body=LoginMfaRequest(mfa_token=token, code=wrong))
    check(is_error(r, HTTPStatus.UNAUTHORIZED, "invalid_code"), "login_mfa with a wrong code -> 401 invalid_code", describe(r))
    # The confirmation spent the current step; the next one is within ±1.
    r = login_mfa.sync_detailed(client=anon, body=LoginMfaRequest(mfa_token=token, code=app.at(now + 30)))
    if check(isinstance(r.parsed, LoggedInBody), "login_mfa with the next step's code -> 200 LoggedInBody", describe(r)):
        p = protected.sync_detailed(client=AuthenticatedClient(token=r.parsed.token, **common))
        check(p.status_code == HTTPStatus.OK, "its token opens /protected", describe(p))
    r = login_mfa.sync_detailed(client=anon, body=LoginMfaRequest(mfa_token=token, code=app.at(now + 30)))
    check(is_error(r, HTTPStatus.BAD_REQUEST, "invalid_token"), "the same mfa_token again -> 400 invalid_token", describe(r))

    token = mfa_required(anon, username, PASSWORD, "recovery")
    if token is None:
        return
    r = login_mfa.sync_detailed(client=anon, body=LoginMfaRequest(mfa_token=token, code=recovery[0]))
    check(isinstance(r.parsed, LoggedInBody), "login_mfa with a recovery code -> 200", describe(r))
    r = get_me.sync_detailed(client=me)
    check(
        isinstance(r.parsed, MeBody) and r.parsed.mfa.recovery_codes_left == 9,
        "get_me: 9 recovery codes left",
        describe(r),
    )
    token = mfa_required(anon, username, PASSWORD, "recovery again")
    if token is None:
        return
    r = login_mfa.sync_detailed(client=anon, body=LoginMfaRequest(mfa_token=token, code=recovery[0]))
    check(
        is_error(r, HTTPStatus.UNAUTHORIZED, "invalid_code"),
        "the same recovery code a second time -> 401 invalid_code",
        describe(r),
    )

    r = change_password.sync_detailed(
        client=me, body=ChangePasswordRequest(current_password=PASSWORD, new_password=NEW_PASSWORD)
    )
    check(
        is_error(r, HTTPStatus.UNAUTHORIZED, "invalid_code"),
        "change_password without a code -> 401 invalid_code",
        describe(r),
    )
    r = change_password.sync_detailed(
        client=me,
        body=ChangePasswordRequest(current_password=PASSWORD, new_password=NEW_PASSWORD, code=recovery[1]),
    )
    check(r.status_code == HTTPStatus.OK, "change_password with a recovery code -> 200", describe(r))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python python_mfa.py <base url>")
    run("python client (two-factor)", lambda: main(sys.argv[1]))
