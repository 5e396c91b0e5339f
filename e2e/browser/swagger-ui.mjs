// Drives the Swagger UI that auth-server serves at /docs in Debian's headless
// Chromium (playwright-core; no browser download), the way a person would:
// every operation is listed, then "Try it out" → JSON body → "Execute" for
// register (201), login (200) and protected (200, on the cookie the browser
// kept from /login), logout (200) and protected again (401); then log in
// again, drop the cookie and use "Authorize" with the bearer token (200);
// with that token, the session list (GET /sessions, 200, two sessions: a
// second one is opened outside the browser) and the password change (POST
// /password, 200, sessions_revoked 1), the list again (one), then /login
// with the old password (401) and the new one (200).
// Fails if the page requests anything from another host.
//
// usage: node swagger-ui.mjs <base url> <artifacts dir>
// env:   CHROMIUM_PATH (default /usr/bin/chromium)

import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checker, foreignRequestsOf, launch } from "./chromium.mjs";
import { checkOperationsListed, openDocs, opSel, tryItOut as tryOperation } from "./swagger.mjs";

const [baseUrl, artifacts] = process.argv.slice(2);
if (!baseUrl || !artifacts) {
  console.error("usage: node swagger-ui.mjs <base url> <artifacts dir>");
  process.exit(2);
}
const origin = new URL(baseUrl).origin;
mkdirSync(artifacts, { recursive: true });

const tally = checker();
const { check, ok, failures } = tally;

// Every operation of docs/openapi.json, by Swagger UI's DOM id
// (operations-<tag>-<operationId>).
const OPERATIONS = [
  { id: "register", tag: "Auth", method: "post", path: "/register" },
  { id: "login", tag: "Auth", method: "post", path: "/login" },
  { id: "logout", tag: "Auth", method: "post", path: "/logout" },
  { id: "logout_get", tag: "Auth", method: "get", path: "/logout", deprecated: true },
  { id: "login_mfa", tag: "Auth", method: "post", path: "/login/mfa" },
  { id: "protected", tag: "Session", method: "get", path: "/protected" },
  { id: "get_me", tag: "Account", method: "get", path: "/me" },
  { id: "delete_account", tag: "Account", method: "post", path: "/me/delete" },
  { id: "list_my_events", tag: "Account", method: "get", path: "/me/events" },
  { id: "list_sessions", tag: "Account", method: "get", path: "/sessions" },
  { id: "revoke_session", tag: "Account", method: "delete", path: "/sessions/{id}" },
  { id: "revoke_other_sessions", tag: "Account", method: "post", path: "/sessions/revoke-others" },
  { id: "logout_everywhere", tag: "Account", method: "post", path: "/logout/everywhere" },
  { id: "change_password", tag: "Account", method: "post", path: "/password" },
  { id: "change_email", tag: "Account", method: "put", path: "/me/email" },
  { id: "totp_setup", tag: "Mfa", method: "post", path: "/mfa/totp/setup" },
  { id: "totp_confirm", tag: "Mfa", method: "post", path: "/mfa/totp/confirm" },
  { id: "totp_disable", tag: "Mfa", method: "post", path: "/mfa/totp/disable" },
  { id: "regenerate_recovery_codes", tag: "Mfa", method: "post", path: "/mfa/recovery-codes" },
  { id: "verify_email", tag: "Recovery", method: "post", path: "/email/verify" },
  { id: "forgot_password", tag: "Recovery", method: "post", path: "/password/forgot" },
  { id: "reset_password", tag: "Recovery", method: "post", path: "/password/reset" },
  { id: "reset_page", tag: "Recovery", method: "get", path: "/reset" },
  { id: "verify_page", tag: "Recovery", method: "get", path: "/verify" },
  { id: "passkey_login_options", tag: "Auth", method: "post", path: "/webauthn/login/options" },
  { id: "passkey_login", tag: "Auth", method: "post", path: "/webauthn/login" },
  { id: "passkey_register_options", tag: "Passkeys", method: "post", path: "/webauthn/register/options" },
  { id: "passkey_register", tag: "Passkeys", method: "post", path: "/webauthn/register" },
  { id: "passkey_list", tag: "Passkeys", method: "get", path: "/webauthn/credentials" },
  { id: "passkey_rename", tag: "Passkeys", method: "patch", path: "/webauthn/credentials/{id}" },
  { id: "passkey_remove", tag: "Passkeys", method: "delete", path: "/webauthn/credentials/{id}" },
  { id: "passkeys_page", tag: "Passkeys", method: "get", path: "/passkeys" },
  { id: "health", tag: "Operations", method: "get", path: "/health" },
  { id: "ready", tag: "Operations", method: "get", path: "/ready" },
];
const op = (id) => OPERATIONS.find((o) => o.id === id);

const userDataDir = mkdtempSync(join(tmpdir(), "auth-e2e-chromium-"));
// Requests to another origin (filled once the browser runs).
let foreignRequests = [];
const pageErrors = [];
let context;

try {
  context = await launch(userDataDir, { width: 1280, height: 900 });
  foreignRequests = foreignRequestsOf(context, origin);

  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (err) => pageErrors.push(String(err)));

  await openDocs(page, baseUrl, "auth-service", check);

  // 1. All operations are listed, with method, path and the deprecation mark.
  await checkOperationsListed(page, OPERATIONS, check);
  await page.screenshot({ path: join(artifacts, "swagger-ui-operations.png"), fullPage: true });

  const tryItOut = (id, body) => tryOperation(page, op(id), { body });

  // 2. Register, log in, call /protected on the cookie the browser kept.
  const username = `swagger_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const password = "violet harbor lantern 93 quietly";

  let r = await tryItOut("register", { username, password });
  check(r.status === 201, "register via Try it out shows 201", `${r.status} ${r.text}`);
  check(r.json?.message === "User registered successfully", "register body shows the success message", r.text);

  r = await tryItOut("login", { username, password });
  check(r.status === 200, "login via Try it out shows 200", `${r.status} ${r.text}`);
  const token1 = r.json?.token;
  check(typeof token1 === "string" && token1.length > 20, "login body shows a token", r.text);
  const cookies = await context.cookies(baseUrl);
  const sessionCookie = cookies.find((c) => c.name === "session");
  check(
    sessionCookie && sessionCookie.value === token1 && sessionCookie.httpOnly && sessionCookie.sameSite === "Lax",
    "the browser keeps the HttpOnly SameSite=Lax session cookie from /login",
    JSON.stringify(sessionCookie),
  );

  r = await tryItOut("protected", undefined);
  check(r.status === 200, "protected via Try it out shows 200 (session cookie)", `${r.status} ${r.text}`);
  check(
    (r.sent.cookie ?? "").includes(`session=${token1}`) && r.sent.authorization === undefined,
    "that request carried the session cookie and no Authorization header",
    JSON.stringify({ cookie: r.sent.cookie, authorization: r.sent.authorization }),
  );
  check(r.json?.username === username, "protected shows the username", r.text);

  await page.locator(opSel(op("protected"))).screenshot({ path: join(artifacts, "swagger-ui-protected.png") });
  ok(`screenshot of /protected answering 200 saved to ${join(artifacts, "swagger-ui-protected.png")}`);

  // 3. Log out (POST) through the page; the same page then gets 401.
  r = await tryItOut("logout", undefined);
  check(r.status === 200, "logout via Try it out shows 200", `${r.status} ${r.text}`);
  r = await tryItOut("protected", undefined);
  check(r.status === 401 && r.json?.code === "unauthorized", "protected after logout shows 401 unauthorized", `${r.status} ${r.text}`);

  // 4. The Authorize dialog with the bearer token, with no cookie at all.
  r = await tryItOut("login", { username, password });
  check(r.status === 200, "second login shows 200", `${r.status} ${r.text}`);
  const token2 = r.json?.token;
  check(typeof token2 === "string" && token2 !== token1, "second login issues a fresh token", r.text);
  await context.clearCookies();
  await page.locator(".auth-wrapper button.authorize").click();
  const dialog = page.locator(".dialog-ux .modal-ux");
  await dialog.waitFor();
  const bearerForm = dialog.locator(".auth-container", { hasText: "bearer_token" });
  await bearerForm.locator("input").first().fill(token2);
  await bearerForm.locator("button.authorize").click();
  await dialog.locator("button.btn-done, button.close-modal").first().click();
  r = await tryItOut("protected", undefined);
  check(
    r.sent.authorization === `Bearer ${token2}` && r.sent.cookie === undefined,
    "Authorize → bearer_token sends Authorization: Bearer <token> (and no cookie)",
    JSON.stringify({ cookie: r.sent.cookie, authorization: r.sent.authorization }),
  );
  check(r.status === 200 && r.json?.username === username, "protected with the Authorize bearer token shows 200", `${r.status} ${r.text}`);

  await page.locator(opSel(op("protected"))).screenshot({ path: join(artifacts, "swagger-ui-bearer.png") });

  // 5. The account routes on the Authorize bearer token: the session list and
  // the password change. A second session is opened outside the page (Node's
  // fetch, not the browser) so that the list has another entry and the
  // change has a session to end.
  const other = await fetch(`${baseUrl}/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "User-Agent": "swagger-check other device" },
    body: JSON.stringify({ username, password }),
  });
  const otherToken = (await other.json()).token;
  check(other.status === 200 && typeof otherToken === "string", "a second session opened outside the browser", `${other.status}`);
  const protectedWith = async (token) =>
    (await fetch(`${baseUrl}/protected`, { headers: { Authorization: `Bearer ${token}` } })).status;

  r = await tryItOut("list_sessions", undefined);
  check(r.status === 200, "GET /sessions via Try it out shows 200", `${r.status} ${r.text}`);
  check(
    r.sent.authorization === `Bearer ${token2}` && r.sent.cookie === undefined,
    "that request carried the Authorize bearer token",
    JSON.stringify({ cookie: r.sent.cookie, authorization: r.sent.authorization }),
  );
  const listed = r.json?.sessions ?? [];
  check(
    listed.length === 2 && listed.filter((s) => s.current).length === 1,
    "the session list shows two sessions, one of them current",
    r.text,
  );
  check(
    listed.some((s) => !s.current && s.user_agent === "swagger-check other device") &&
      listed.some((s) => s.current && (s.user_agent ?? "").includes("Chrome")),
    "the other session is the outside one, the current one Chromium's",
    r.text,
  );
  await page.locator(opSel(op("list_sessions"))).screenshot({ path: join(artifacts, "swagger-ui-sessions.png") });

  const newPassword = "amber quarry pilot 57 tangerine";
  r = await tryItOut("change_password", { current_password: password, new_password: newPassword });
  check(r.status === 200, "POST /password via Try it out shows 200", `${r.status} ${r.text}`);
  check(
    r.json?.message === "Password changed" && r.json?.sessions_revoked === 1,
    "the password change ended the one other session",
    r.text,
  );
  await page.locator(opSel(op("change_password"))).screenshot({ path: join(artifacts, "swagger-ui-password.png") });
  check((await protectedWith(otherToken)) === 401, "the other session's token is refused (401) after the change");
  check((await protectedWith(token2)) === 200, "the browser's own session still works after the change");

  r = await tryItOut("list_sessions", undefined);
  check(
    r.status === 200 && (r.json?.sessions ?? []).length === 1 && r.json.sessions[0].current === true,
    "GET /sessions again shows only the current session",
    `${r.status} ${r.text}`,
  );

  r = await tryItOut("login", { username, password });
  check(r.status === 401 && r.json?.code === "invalid_credentials", "login with the old password shows 401 invalid_credentials", `${r.status} ${r.text}`);
  r = await tryItOut("login", { username, password: newPassword });
  check(r.status === 200, "login with the new password shows 200", `${r.status} ${r.text}`);

  check(foreignRequests.length === 0, "every request of the page went to the server itself", foreignRequests.join(", "));
  check(pageErrors.length === 0, "no uncaught errors on the page", pageErrors.join(" | "));
} catch (err) {
  failures.push(`unexpected error: ${err && err.stack ? err.stack : err}`);
  console.log(`  FAILED: ${err && err.stack ? err.stack : err}`);
  try {
    const page = context?.pages()[0];
    if (page) await page.screenshot({ path: join(artifacts, "swagger-ui-failure.png"), fullPage: true });
  } catch {
    // no screenshot then
  }
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}

console.log(`browser: ${tally.passed} passed, ${failures.length} failed`);
if (failures.length) {
  for (const f of failures) console.log(`  - ${f}`);
  process.exit(1);
}
