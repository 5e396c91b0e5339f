"""The tally the Python client checks share: each check prints a line and
is counted; `run` runs the steps, counts an unexpected exception (an
undeclared status, a body that does not parse) as a failure, prints the
summary and exits non-zero when anything failed."""

from __future__ import annotations

import sys
import traceback
from http import HTTPStatus
from typing import Callable

PASSED = 0
FAILED: list[str] = []


def check(cond: bool, what: str, detail: object = "") -> bool:
    global PASSED
    if cond:
        PASSED += 1
        print(f"  ok: {what}")
    else:
        FAILED.append(f"{what}: {detail}")
        print(f"  FAILED: {what}: {detail}")
    return cond


def describe(resp) -> str:
    return f"{resp.status_code} {resp.content[:300]!r}"


def code_of(r) -> str | None:
    code = getattr(r.parsed, "code", None)
    return getattr(code, "value", code)


def is_error(r, status: HTTPStatus, code: str) -> bool:
    """The status, the operation's own error model for it, and its code."""
    return r.status_code == status and "Error" in type(r.parsed).__name__ and code_of(r) == code


def run(name: str, *steps: Callable[[], None]) -> None:
    try:
        for step in steps:
            step()
    except Exception as exc:  # an unexpected status or a parse error is a failure
        traceback.print_exc()
        FAILED.append(f"unexpected exception: {exc!r}")
    print(f"{name}: {PASSED} passed, {len(FAILED)} failed")
    for f in FAILED:
        print(f"  - {f}")
    sys.exit(1 if FAILED else 0)
