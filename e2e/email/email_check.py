"""The checks of e2e/email.sh: email verification and password reset against
a running auth-server whose mail goes over real SMTP to e2e/email/smtp_sink.py
(which stores each message as a file in --mail-dir). Only the standard
library: urllib.request for the API, email for the messages; the pages are
opened in Chromium through e2e/email/browser.mjs (playwright-core).

Phases (e2e/email.sh runs them in this order, stopping and starting the sink
between the last two):

  run1            register with an email; the verification mail arrives and
                  its link, opened in Chromium, spends nothing until the
                  button is pressed, then verifies; forgot → one reset mail;
                  its page (CSP default-src 'none', no foreign request, no
                  CSP violation) sets a new password; old password and old
                  sessions refused, new password works; the "password
                  changed" notice arrives.
  outage-request  (sink stopped) forgot → 202; the worker tries and fails
                  (auth_mail_retried ≥ 1, auth_mail_waiting ≥ 1); no mail.
  outage-recover  (sink started again) the reset mail arrives within
                  --within seconds, and exactly once after --settle seconds
                  more; its link still works; /metrics agree with the sink.

Each prints "  ok: …" / "  FAILED: …" lines and, last, "email-<phase>: N
passed, M failed" (which e2e_step counts). State between phases (the user,
the mail already seen) is kept in --state.

usage: python3 email_check.py PHASE --base URL --mail-dir DIR --state FILE
           [--artifacts DIR] [--mail-from ADDR] [--within S] [--settle S]
"""

import argparse
import email
import email.policy
import html.parser
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))

FORGOT_MESSAGE = "If the account exists and has a verified email, a reset link has been sent"
# Mail kinds, by the subject of the built-in templates (product "Auth Service").
KINDS = {
    "verification": re.compile(r"^Confirm your email address for "),
    "reset": re.compile(r"^Reset your .* password$"),
    "changed": re.compile(r"^Your .* password was changed$"),
}


class Checks:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failures = []

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print(f"  ok: {what}", flush=True)
        else:
            msg = f"{what}: {detail}" if detail else what
            self.failures.append(msg)
            print(f"  FAILED: {msg}", flush=True)
        return bool(cond)

    def finish(self):
        print(f"email-{self.name}: {self.passed} passed, {len(self.failures)} failed", flush=True)
        for f in self.failures:
            print(f"  - {f}", flush=True)
        return 1 if self.failures else 0


class Abort(Exception):
    """A check failed that the following ones depend on."""


# ---- HTTP -----------------------------------------------------------------

# Never through a proxy from the environment: the server is on 127.0.0.1.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Api:
    def __init__(self, base):
        self.base = base.rstrip("/")

    def call(self, method, path, body=None, token=None, timeout=15):
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with OPENER.open(req, timeout=timeout) as resp:
                status, raw, hdrs = resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as err:
            status, raw, hdrs = err.code, err.read(), err.headers
        text = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return status, parsed, text, hdrs

    def metrics(self):
        status, _, text, _ = self.call("GET", "/metrics")
        if status != 200:
            raise Abort(f"GET /metrics answered {status}")
        values = {}
        for line in text.splitlines():
            m = re.match(r"^(auth_mail_[a-z_]+?)(?:_total)?(?:\{[^}]*\})?\s+([0-9.eE+-]+)$", line)
            if m:
                values[m.group(1)] = float(m.group(2))
        return values


def login(api, username, password):
    return api.call("POST", "/login", {"username": username, "password": password})


# ---- the mail the sink stored ---------------------------------------------


class Mail:
    def __init__(self, path):
        self.file = os.path.basename(path)
        with open(path, "rb") as f:
            self.raw = f.read()
        with open(path[: -len(".eml")] + ".json", encoding="utf-8") as f:
            self.envelope = json.load(f)
        self.msg = email.message_from_bytes(self.raw, policy=email.policy.default)
        self.subject = str(self.msg["Subject"] or "")
        self.to = str(self.msg["To"] or "")
        self.sender = str(self.msg["From"] or "")
        plain = self.msg.get_body(("plain",))
        html = self.msg.get_body(("html",))
        self.text = plain.get_content() if plain is not None else ""
        self.html = html.get_content() if html is not None else ""
        self.kind = next((k for k, rx in KINDS.items() if rx.search(self.subject)), "other")

    def link(self, base, page):
        m = re.search(re.escape(base.rstrip("/")) + "/" + page + r"\?token=([A-Za-z0-9_-]+)", self.text)
        return (m.group(0), m.group(1)) if m else (None, None)

    def hrefs(self):
        """The href of every <a> of the HTML part, unescaped."""
        found = []

        class Links(html.parser.HTMLParser):
            def handle_starttag(self, tag, attrs):
                if tag == "a":
                    found.extend(v for k, v in attrs if k == "href" and v)

        Links().feed(self.html)
        return found

    def describe(self):
        return f"{self.file} [{self.kind}] to {self.to!r} subject {self.subject!r}"


def all_mail(mail_dir):
    names = sorted(n for n in os.listdir(mail_dir) if n.endswith(".eml"))
    return [Mail(os.path.join(mail_dir, n)) for n in names]


def wait_for_mail(mail_dir, kind, to, seen, timeout):
    """New mail (not in `seen`) of `kind` to `to`: waits until at least one
    has arrived or `timeout` seconds have passed; returns them all."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in all_mail(mail_dir) if m.file not in seen and m.kind == kind and to.lower() in m.to.lower()]
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(0.25)


def check_addressed(c, mail, address, mail_from, what):
    c.check(
        mail.to.strip().lower() == address.lower() or mail.to.strip().lower().endswith(f"<{address.lower()}>"),
        f"{what}: addressed to {address} (To: header)",
        repr(mail.to),
    )
    c.check(
        [r.lower() for r in mail.envelope["rcpt_tos"]] == [address.lower()],
        f"{what}: the SMTP envelope has {address} as its one recipient",
        repr(mail.envelope["rcpt_tos"]),
    )
    if mail_from:
        c.check(mail_from in mail.sender, f"{what}: from {mail_from} (--mail-from)", repr(mail.sender))
    c.check(
        mail.msg.get_content_type() == "multipart/alternative" and mail.text and mail.html,
        f"{what}: multipart/alternative with a plain and an HTML part",
        mail.msg.get_content_type(),
    )


# ---- the browser ------------------------------------------------------------


class Browser:
    def __init__(self, base):
        self.proc = subprocess.Popen(
            ["node", os.path.join(HERE, "browser.mjs"), base],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def do(self, cmd, **args):
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise Abort(f"the browser driver exited (status {self.proc.wait()}) during {cmd}")
        answer = json.loads(line)
        if not answer.get("ok"):
            raise Abort(f"browser {cmd} {args}: {answer.get('error')}")
        return answer

    def screenshot(self, artifacts, name):
        if artifacts:
            path = os.path.join(artifacts, name)
            self.do("screenshot", path=path)
            return path
        return None

    def close(self):
        try:
            self.do("quit")
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=20)
        except Exception:  # noqa: BLE001
            self.proc.kill()
            self.proc.wait()


def csp_console(report):
    return [
        m["text"]
        for m in report["console"]
        if "Content Security Policy" in m["text"] or "Content-Security-Policy" in m["text"]
    ]


def check_page_clean(c, report, origin, what):
    c.check(
        not report["foreign_requests"],
        f"{what}: no request to any host but the server",
        "; ".join(report["foreign_requests"]),
    )
    c.check(
        all(
            r.split(" ", 1)[1].startswith(origin + "/")
            for r in report["requests"]
            if not r.split(" ", 1)[1].startswith(("data:", "blob:"))
        ),
        f"{what}: every request went to {origin}",
        "; ".join(report["requests"]),
    )
    csp = csp_console(report)
    c.check(not csp, f"{what}: no CSP violation in the browser console", " | ".join(csp))
    c.check(
        not report["csp_violations"],
        f"{what}: no securitypolicyviolation event on the page",
        json.dumps(report["csp_violations"]),
    )
    c.check(not report["page_errors"], f"{what}: no uncaught error on the page", " | ".join(report["page_errors"]))


def check_csp_header(c, headers, what):
    csp = headers.get("content-security-policy", "")
    c.check(
        csp.startswith("default-src 'none'"),
        f"{what}: Content-Security-Policy starts with default-src 'none'",
        repr(csp),
    )


# ---- phases -----------------------------------------------------------------


def run1(args, c):
    api = Api(args.base)
    origin = args.base.rstrip("/")
    suffix = f"{os.getpid()}{random.randrange(10**6):06d}"
    username = f"mail_{suffix}"
    address = f"Mail.User.{suffix}@example.com"
    password = "violet harbor window 41 gently"
    new_password = "copper meadow lantern 83"
    state = {"username": username, "email": address, "password": password}
    seen = {m.file for m in all_mail(args.mail_dir)}

    # 1. Registration with an address; the verification mail.
    status, body, text, _ = api.call(
        "POST", "/register", {"username": username, "password": password, "email": address}
    )
    if not c.check(status == 201, "POST /register with an email answers 201", f"{status} {text}"):
        raise Abort("no user")
    status, body, text, _ = login(api, username, password)
    if not c.check(
        status == 200 and body and body.get("token"),
        "login before verifying answers 200 with a token",
        f"{status} {text}",
    ):
        raise Abort("no session")
    token1 = body["token"]
    status, me, text, _ = api.call("GET", "/me", token=token1)
    c.check(
        status == 200 and me.get("email", "").lower() == address.lower() and me.get("email_verified") is False,
        "GET /me shows the address, not verified",
        f"{status} {text}",
    )

    t0 = time.monotonic()
    mails = wait_for_mail(args.mail_dir, "verification", address, seen, 20)
    if not c.check(
        len(mails) >= 1,
        "the verification mail arrives at the SMTP server (within 20 s)",
        f"mail seen: {[m.describe() for m in all_mail(args.mail_dir)]}",
    ):
        raise Abort("no verification mail")
    print(f"  (verification mail after {time.monotonic() - t0:.1f} s)", flush=True)
    mail = mails[0]
    seen.add(mail.file)
    check_addressed(c, mail, address, args.mail_from, "the verification mail")
    verify_url, verify_token = mail.link(args.base, "verify")
    if not c.check(verify_url, f"the verification mail links to {origin}/verify?token=…", mail.text):
        raise Abort("no verification link")
    c.check(
        re.fullmatch(r"[A-Za-z0-9_-]{43}", verify_token),
        "its token is 43 characters of base64url (256 bits)",
        verify_token,
    )
    c.check(verify_url in mail.hrefs(), "the HTML part links to the same address (<a href>)", repr(mail.hrefs()))

    browser = Browser(args.base)
    try:
        # 2. The verification page: opening spends nothing, the button verifies.
        page = browser.do("open", url=verify_url)
        c.check(page["status"] == 200, "the verification link opens the page (200) in Chromium", f"{page['status']}")
        check_csp_header(c, page["headers"], "the verification page")
        report = browser.do("report")
        c.check(
            not [r for r in report["requests"] if r.startswith("POST ")],
            "opening the verification page sends nothing (no POST)",
            "; ".join(report["requests"]),
        )
        status, me, text, _ = api.call("GET", "/me", token=token1)
        c.check(
            status == 200 and me.get("email_verified") is False,
            "GET /me after opening the page: still email_verified false (opening spent nothing)",
            f"{status} {text}",
        )
        browser.screenshot(args.artifacts, "email-verify-page.png")
        sub = browser.do("submit", selector="#submit", path="/email/verify")
        c.check(
            sub["status"] == 200,
            "pressing #submit posts the token: POST /email/verify 200",
            f"{sub['status']} {sub['body']}",
        )
        shown = browser.do("wait_text", selector="#status")["text"]
        c.check("verified" in shown.lower(), "#status says the address is verified", repr(shown))
        browser.screenshot(args.artifacts, "email-verified.png")
        check_page_clean(c, browser.do("report"), origin, "the verification page")
        status, me, text, _ = api.call("GET", "/me", token=token1)
        c.check(
            status == 200 and me.get("email_verified") is True, "GET /me shows email_verified true", f"{status} {text}"
        )
        status, body, text, _ = api.call("POST", "/email/verify", {"token": verify_token})
        c.check(
            status == 400 and body and body.get("code") == "invalid_token",
            "the verification token works once (again: 400 invalid_token)",
            f"{status} {text}",
        )

        # 3. Forgot → one reset mail; the reset page sets the new password.
        status, body, text, _ = login(api, username, password)
        if not c.check(
            status == 200 and body and body.get("token"),
            "log in again (the session a reset must end)",
            f"{status} {text}",
        ):
            raise Abort("no session")
        token2 = body["token"]
        status, body, text, _ = api.call("POST", "/password/forgot", {"username": username})
        c.check(
            status == 202 and body and body.get("message") == FORGOT_MESSAGE,
            "POST /password/forgot {username} answers 202 with the one message",
            f"{status} {text}",
        )
        t0 = time.monotonic()
        mails = wait_for_mail(args.mail_dir, "reset", address, seen, 20)
        if not c.check(
            mails,
            "the reset mail arrives (within 20 s)",
            f"mail seen: {[m.describe() for m in all_mail(args.mail_dir)]}",
        ):
            raise Abort("no reset mail")
        print(f"  (reset mail after {time.monotonic() - t0:.1f} s)", flush=True)
        time.sleep(4)  # four worker passes: a duplicate would be here by now
        mails = wait_for_mail(args.mail_dir, "reset", address, seen, 0)
        c.check(len(mails) == 1, "the reset mail arrives once", f"{len(mails)}: {[m.describe() for m in mails]}")
        mail = mails[0]
        seen.update(m.file for m in mails)
        check_addressed(c, mail, address, args.mail_from, "the reset mail")
        reset_url, reset_token = mail.link(args.base, "reset")
        if not c.check(reset_url, f"the reset mail links to {origin}/reset?token=…", mail.text):
            raise Abort("no reset link")
        c.check(reset_url in mail.hrefs(), "the HTML part links to the same address (<a href>)", repr(mail.hrefs()))
        c.check(
            reset_token != verify_token and re.fullmatch(r"[A-Za-z0-9_-]{43}", reset_token),
            "its token is a new 43-character base64url token",
            reset_token,
        )

        page = browser.do("open", url=reset_url)
        c.check(page["status"] == 200, "the reset link opens the page (200) in Chromium", f"{page['status']}")
        check_csp_header(c, page["headers"], "the reset page")
        status, _, text, _ = login(api, username, password)
        c.check(
            status == 200, "opening the reset page spent nothing (the old password still logs in)", f"{status} {text}"
        )
        browser.do("fill", selector="#password", value=new_password)
        browser.screenshot(args.artifacts, "email-reset-page.png")
        sub = browser.do("submit", selector="#submit", path="/password/reset")
        try:
            sub_body = json.loads(sub["body"])
        except ValueError:
            sub_body = {}
        c.check(
            sub["status"] == 200 and sub_body.get("message") == "Password reset",
            "pressing #submit: POST /password/reset 200",
            f"{sub['status']} {sub['body']}",
        )
        c.check(
            sub_body.get("sessions_revoked") == 3, "every session of the user ended (sessions_revoked 3)", sub["body"]
        )
        shown = browser.do("wait_text", selector="#status", **{"not": ["Setting your new password…"]})["text"]
        c.check("password was reset" in shown.lower(), "#status says the password was reset", repr(shown))
        browser.screenshot(args.artifacts, "email-reset-done.png")
        check_page_clean(c, browser.do("report"), origin, "the reset page")
    finally:
        browser.close()

    # 4. The new password, the old one, the old sessions, the notice.
    status, body, text, _ = login(api, username, new_password)
    c.check(status == 200, "login with the new password answers 200", f"{status} {text}")
    status, body, text, _ = login(api, username, password)
    c.check(
        status == 401 and body and body.get("code") == "invalid_credentials",
        "login with the old password answers 401 invalid_credentials",
        f"{status} {text}",
    )
    for name, token in (("before verifying", token1), ("kept before the reset", token2)):
        status, _, text, _ = api.call("GET", "/protected", token=token)
        c.check(status == 401, f"the session opened {name} is refused on GET /protected (401)", f"{status} {text}")
    status, body, text, _ = api.call(
        "POST", "/password/reset", {"token": reset_token, "new_password": "another long phrase 77 here"}
    )
    c.check(
        status == 400 and body and body.get("code") == "invalid_token",
        "the reset token works once (again: 400 invalid_token)",
        f"{status} {text}",
    )
    mails = wait_for_mail(args.mail_dir, "changed", address, seen, 20)
    c.check(len(mails) == 1, 'the "password changed" notice arrives, once', f"{[m.describe() for m in mails]}")
    for m in mails:
        seen.add(m.file)
        check_addressed(c, m, address, args.mail_from, "the notice")
        c.check("token=" not in m.text, "the notice carries no link token", m.text)

    state["password"] = new_password
    unexpected = [m.describe() for m in all_mail(args.mail_dir) if m.file not in seen]
    c.check(not unexpected, "no other mail was sent", "; ".join(unexpected))
    return state


def outage_request(args, c, state):
    api = Api(args.base)
    host, port = args.smtp.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
        closed = False
    except OSError:
        closed = True
    c.check(closed, f"the SMTP server at {args.smtp} is down (connection refused)")
    state["seen"] = sorted(m.file for m in all_mail(args.mail_dir))
    before = api.metrics()
    state["retried_before"] = before.get("auth_mail_retried", 0)
    status, body, text, _ = api.call("POST", "/password/forgot", {"username": state["username"]})
    c.check(
        status == 202 and body and body.get("message") == FORGOT_MESSAGE,
        "POST /password/forgot during the outage answers 202 as always",
        f"{status} {text}",
    )
    state["requested_at"] = time.time()
    deadline = time.monotonic() + 20
    metrics = before
    while time.monotonic() < deadline:
        metrics = api.metrics()
        if metrics.get("auth_mail_retried", 0) > state["retried_before"]:
            break
        time.sleep(0.5)
    c.check(
        metrics.get("auth_mail_retried", 0) > state["retried_before"],
        "the worker tried to send and failed: auth_mail_retried went up (within 20 s)",
        f"before {before}, now {metrics}",
    )
    c.check(
        metrics.get("auth_mail_waiting", 0) >= 1, "the message stays in the outbox: auth_mail_waiting ≥ 1", f"{metrics}"
    )
    c.check(metrics.get("auth_mail_failed", 0) == 0, "nothing given up on: auth_mail_failed 0", f"{metrics}")
    return state


def outage_recover(args, c, state):
    api = Api(args.base)
    address = state["email"]
    seen = set(state["seen"])
    since = time.time() - state["requested_at"]
    print(f"  (SMTP server back {since:.0f} s after the request)", flush=True)
    t0 = time.monotonic()
    mails = wait_for_mail(args.mail_dir, "reset", address, seen, args.within)
    if not c.check(
        mails,
        f"the reset mail arrives after the SMTP server is back (within {args.within} s)",
        f"mail seen: {[m.describe() for m in all_mail(args.mail_dir) if m.file not in seen]}; metrics {api.metrics()}",
    ):
        raise Abort("no reset mail after the outage")
    print(
        f"  (reset mail {time.monotonic() - t0:.1f} s after the restart, {time.time() - state['requested_at']:.0f} s after the request)",
        flush=True,
    )
    time.sleep(args.settle)
    mails = wait_for_mail(args.mail_dir, "reset", address, seen, 0)
    c.check(
        len(mails) == 1,
        f"exactly one reset mail for the request of the outage ({args.settle} s later)",
        f"{len(mails)}: {[m.describe() for m in mails]}",
    )
    others = [m.describe() for m in all_mail(args.mail_dir) if m.file not in seen and m.kind != "reset"]
    c.check(not others, "and no other mail", "; ".join(others))
    mail = mails[0]
    check_addressed(c, mail, address, args.mail_from, "the delayed reset mail")
    metrics = api.metrics()
    received = len(all_mail(args.mail_dir))
    c.check(metrics.get("auth_mail_retried", 0) >= 1, "/metrics: auth_mail_retried ≥ 1", f"{metrics}")
    c.check(
        metrics.get("auth_mail_sent", 0) >= received,
        f"/metrics: auth_mail_sent ≥ the {received} messages the SMTP server received",
        f"{metrics}",
    )
    c.check(
        metrics.get("auth_mail_waiting", -1) == 0, "/metrics: auth_mail_waiting 0 (the outbox is empty)", f"{metrics}"
    )
    c.check(
        metrics.get("auth_mail_failed", 0) == 0 and metrics.get("auth_mail_given_up", 0) == 0,
        "/metrics: nothing failed or given up on",
        f"{metrics}",
    )

    # The delayed link still works.
    _, token = mail.link(args.base, "reset")
    if c.check(token, "the delayed reset mail has a reset link", mail.text):
        newest = "quiet orchard beacon 29 north"
        status, body, text, _ = api.call("POST", "/password/reset", {"token": token, "new_password": newest})
        c.check(
            status == 200 and body and body.get("message") == "Password reset",
            "its link resets the password (POST /password/reset 200)",
            f"{status} {text}",
        )
        status, _, text, _ = login(api, state["username"], newest)
        c.check(status == 200, "login with that password answers 200", f"{status} {text}")
    return state


def main():
    parser = argparse.ArgumentParser(description="e2e/email.sh checks")
    parser.add_argument("phase", choices=["run1", "outage-request", "outage-recover"])
    parser.add_argument("--base", required=True)
    parser.add_argument("--mail-dir", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--smtp", help="host:port of the SMTP server (outage-request)")
    parser.add_argument("--artifacts")
    parser.add_argument("--mail-from", help="the address --mail-from gave the server")
    parser.add_argument("--within", type=float, default=30)
    parser.add_argument("--settle", type=float, default=15)
    args = parser.parse_args()

    c = Checks(args.phase)
    state = {}
    try:
        if args.phase != "run1":
            try:
                with open(args.state, encoding="utf-8") as f:
                    state = json.load(f)
            except OSError as error:
                raise Abort(f"no state from the phase before ({error})") from None
        if args.phase == "run1":
            state = run1(args, c)
        elif args.phase == "outage-request":
            state = outage_request(args, c, state)
        else:
            state = outage_recover(args, c, state)
        with open(args.state, "w", encoding="utf-8") as f:
            json.dump(state, f)
    except Abort as stop:
        c.check(False, "stopped", str(stop))
    except Exception:  # noqa: BLE001 - reported as a failed check
        c.check(False, "unexpected error", traceback.format_exc())
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
