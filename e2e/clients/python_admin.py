"""End-to-end check of the admin API through the Python client that
openapi-python-client generates from docs/admin-openapi.json (run by
e2e/clients.sh, with the public client and the admin client on PYTHONPATH,
against a server started with --admin-bind).

usage: ADMIN_KEY=ak_... python python_admin.py <public base url> <admin base url>

The key comes from `auth-server admin-key create` (in the environment, not
on the command line, where `ps` would show it). A fresh user logs in on the
public listener; on the admin listener the operator finds them by a part of
their name, disables them (their token is then 401 at /protected, and their
right password 403 account_disabled, a wrong one still 401), enables them
(the password logs in again), and reads the audit trail of the account:
account_disabled and account_enabled, each naming the key. Without a key,
or with a wrong one, the admin routes are 401.
"""

from __future__ import annotations

import os
import secrets
import sys
from http import HTTPStatus

from auth_service_admin_client import AuthenticatedClient as AdminClient
from auth_service_admin_client.api.events import admin_list_events
from auth_service_admin_client.api.users import (
    admin_disable_user,
    admin_enable_user,
    admin_get_user,
    admin_search_users,
)
from auth_service_admin_client.models import (
    AdminSearchUsersErrorUnauthorized,
    AdminUserBody,
    DisabledBody,
    EventsPageBody,
    UserDetailBody,
    UsersPageBody,
)
from auth_service_client import AuthenticatedClient, Client
from auth_service_client.api.auth import login, register
from auth_service_client.api.session import protected
from auth_service_client.models import Credentials, LoggedInBody, Registration
from tally import check, code_of, describe, run


PASSWORD = "juniper vessel echoes 73 lighthouse"


def main(base_url: str, admin_url: str, key: str) -> None:
    common = dict(raise_on_unexpected_status=True, timeout=10.0)
    anon = Client(base_url=base_url, **common)
    admin = AdminClient(base_url=admin_url, token=key, **common)
    stranger = AdminClient(base_url=admin_url, token="ak_" + "x" * 43, **common)
    name = f"Admin_{secrets.token_hex(5)}"

    r = register.sync_detailed(client=anon, body=Registration(username=name, password=PASSWORD))
    check(r.status_code == HTTPStatus.CREATED, "register -> 201", describe(r))
    r = login.sync_detailed(client=anon, body=Credentials(username=name, password=PASSWORD))
    if not check(isinstance(r.parsed, LoggedInBody), "login -> 200", describe(r)):
        return
    me = AuthenticatedClient(base_url=base_url, token=r.parsed.token, **common)

    r = admin_search_users.sync_detailed(client=stranger, query=name)
    check(
        r.status_code == HTTPStatus.UNAUTHORIZED
        and isinstance(r.parsed, AdminSearchUsersErrorUnauthorized)
        and code_of(r) == "unauthorized",
        "admin_search_users with a wrong key -> 401 unauthorized",
        describe(r),
    )

    # A part of the name, in another case, finds the account.
    r = admin_search_users.sync_detailed(client=admin, query=name[6:].upper(), limit=10)
    if not check(
        isinstance(r.parsed, UsersPageBody)
        and [u.username for u in r.parsed.users] == [name]
        and r.parsed.next_cursor is None,
        "admin_search_users finds the user by a part of the name, in any case",
        describe(r),
    ):
        return
    user = r.parsed.users[0]
    check(isinstance(user, AdminUserBody) and not user.disabled, "the user is not disabled", user)

    r = admin_get_user.sync_detailed(client=admin, id=str(user.id))
    check(
        isinstance(r.parsed, UserDetailBody) and r.parsed.sessions == 1 and not r.parsed.factors.totp,
        "admin_get_user: one live session, no TOTP",
        describe(r),
    )

    r = admin_disable_user.sync_detailed(client=admin, id=str(user.id))
    check(
        isinstance(r.parsed, DisabledBody) and r.parsed.user.disabled and r.parsed.revoked == 1,
        "admin_disable_user -> 200, disabled, 1 session revoked",
        describe(r),
    )
    r = protected.sync_detailed(client=me)
    check(r.status_code == HTTPStatus.UNAUTHORIZED, "the user's token is now 401 at /protected", describe(r))
    r = login.sync_detailed(client=anon, body=Credentials(username=name, password=PASSWORD))
    check(
        r.status_code == HTTPStatus.FORBIDDEN and code_of(r) == "account_disabled",
        "the right password -> 403 account_disabled",
        describe(r),
    )
    r = login.sync_detailed(client=anon, body=Credentials(username=name, password="not it, not at all"))
    check(
        r.status_code == HTTPStatus.UNAUTHORIZED and code_of(r) == "invalid_credentials",
        "a wrong password stays 401 invalid_credentials",
        describe(r),
    )

    r = admin_enable_user.sync_detailed(client=admin, id=str(user.id))
    check(
        isinstance(r.parsed, AdminUserBody) and not r.parsed.disabled,
        "admin_enable_user -> 200, enabled",
        describe(r),
    )
    r = login.sync_detailed(client=anon, body=Credentials(username=name, password=PASSWORD))
    check(isinstance(r.parsed, LoggedInBody), "the password logs in again -> 200", describe(r))

    r = admin_list_events.sync_detailed(client=admin, user_id=user.id, limit=50)
    if not check(isinstance(r.parsed, EventsPageBody), "admin_list_events -> 200", describe(r)):
        return
    events = r.parsed.events
    kinds = [e.type_ for e in events]
    check(
        kinds[:5] == ["login_succeeded", "account_enabled", "login_failed", "login_disabled", "account_disabled"],
        "the trail, newest first: login, enabled, the wrong password, the refused one, disabled",
        kinds,
    )
    actors = {e.type_: e.actor for e in events}
    key_name = os.environ.get("ADMIN_KEY_NAME", "")
    check(
        actors.get("account_disabled") == f"admin_key:{key_name}"
        and actors.get("account_enabled") == f"admin_key:{key_name}",
        "the admin actions name the key",
        actors,
    )
    r = admin_list_events.sync_detailed(client=admin, type_="account_disabled", user_id=user.id)
    check(
        isinstance(r.parsed, EventsPageBody) and [e.type_ for e in r.parsed.events] == ["account_disabled"],
        "admin_list_events filtered by type",
        describe(r),
    )


if __name__ == "__main__":
    if len(sys.argv) != 3 or not os.environ.get("ADMIN_KEY"):
        sys.exit("usage: ADMIN_KEY=ak_... python python_admin.py <public base url> <admin base url>")
    run("python client (admin API)", lambda: main(sys.argv[1], sys.argv[2], os.environ["ADMIN_KEY"]))
