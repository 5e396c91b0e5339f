// Drives GET /passkeys, the service's own passkeys page, in Debian's
// headless Chromium (playwright-core) with a CDP virtual authenticator
// (CTAP2, internal transport, resident keys, user verification): a real
// browser's WebAuthn, real ceremonies, the server's real verification.
// Creates an account on the page, registers a passkey (a discoverable
// credential on the authenticator), logs out, logs in with the passkey
// and no username (GET /me answers), removes the passkey (the list is
// empty), and checks that the passkey no longer logs in (401).
// Fails on any page error or request to another origin.
//
// usage: node passkeys.mjs <base url, http://localhost:PORT> <artifacts dir>
// env:   CHROMIUM_PATH (default /usr/bin/chromium)

import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checker, foreignRequestsOf, launch } from "./chromium.mjs";

const [baseUrl, artifacts] = process.argv.slice(2);
if (!baseUrl || !artifacts) {
  console.error("usage: node passkeys.mjs <base url> <artifacts dir>");
  process.exit(2);
}
const origin = new URL(baseUrl).origin;
mkdirSync(artifacts, { recursive: true });

const tally = checker();
const { check, failures } = tally;

const userDataDir = mkdtempSync(join(tmpdir(), "auth-e2e-passkeys-"));
// Requests to another origin (filled once the browser runs).
let foreignRequests = [];
const pageErrors = [];
let context;

try {
  context = await launch(userDataDir, { width: 1000, height: 800 });
  foreignRequests = foreignRequestsOf(context, origin);

  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  // Console errors count, except the browser's note on each non-2xx answer
  // (GET /me is 401 while logged out; the refused login is checked itself).
  page.on("console", (msg) => {
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) {
      pageErrors.push(`console: ${msg.text()}`);
    }
  });

  // The authenticator: what a phone or a laptop's platform authenticator is.
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  check(Boolean(authenticatorId), "a virtual authenticator is attached");

  const resp = await page.goto(`${baseUrl}/passkeys`, { waitUntil: "load" });
  check(resp && resp.status() === 200, "GET /passkeys answers 200", `status ${resp && resp.status()}`);
  const csp = (resp && resp.headers()["content-security-policy"]) || "";
  check(csp.startsWith("default-src 'none';") && csp.includes("script-src 'sha256-"),
    "the page is served with its hash-only Content-Security-Policy", csp);
  await page.waitForSelector("#signed-out:not([hidden])");
  await page.screenshot({ path: join(artifacts, "passkeys-1-signed-out.png"), fullPage: true });

  // 1. An account, created and logged in on the page.
  const username = `pk_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  await page.fill("#username", username);
  await page.fill("#password", "violet harbor lantern 93 quietly");
  await page.click("#signup");
  await page.waitForSelector("#signed-in:not([hidden])");
  check((await page.textContent("#who")) === username, "signed up and logged in with a password");

  // 2. A passkey registered: a resident credential on the authenticator.
  await page.fill("#passkey-name", "E2E authenticator");
  const [registered] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/webauthn/register"),
    page.click("#add-passkey"),
  ]);
  check(registered.status() === 201, "POST /webauthn/register answers 201", `${registered.status()} ${await registered.text()}`);
  await page.waitForSelector("#passkeys li");
  const listed = await page.locator("#passkeys li .passkey-name").allTextContents();
  check(listed.length === 1 && listed[0].startsWith("E2E authenticator"), "the page lists the new passkey", JSON.stringify(listed));
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  check(credentials.length === 1 && credentials[0].isResidentCredential === true,
    "the authenticator holds one discoverable (resident) credential", JSON.stringify(credentials.map((c) => c.isResidentCredential)));
  check(credentials[0]?.rpId === "localhost", "the credential is bound to the RP ID localhost", credentials[0]?.rpId);
  await page.screenshot({ path: join(artifacts, "passkeys-2-registered.png"), fullPage: true });

  // 3. Logged out, then in again with the passkey and no username.
  await page.click("#logout");
  await page.waitForSelector("#signed-out:not([hidden])");
  await page.fill("#username", "");
  const [login] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/webauthn/login"),
    page.click("#passkey-login"),
  ]);
  check(login.status() === 200, "POST /webauthn/login answers 200", `${login.status()} ${await login.text()}`);
  const body = await login.json().catch(() => ({}));
  check(body.message === "Login successful" && typeof body.token === "string", "the passkey login answers as /login does", JSON.stringify(body));
  await page.waitForSelector("#signed-in:not([hidden])");
  const me = await page.evaluate(async () => {
    const r = await fetch("/me", { credentials: "same-origin" });
    return { status: r.status, body: await r.json() };
  });
  check(me.status === 200 && me.body.username === username && me.body.mfa?.passkeys === 1,
    "GET /me answers on the passkey's session", JSON.stringify(me));
  await page.screenshot({ path: join(artifacts, "passkeys-3-passkey-login.png"), fullPage: true });

  // 4. The passkey removed: the list is empty.
  const [removed] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname.startsWith("/webauthn/credentials/") && r.request().method() === "DELETE"),
    page.click("#passkeys li button.remove"),
  ]);
  check(removed.status() === 200, "DELETE /webauthn/credentials/{id} answers 200", `${removed.status()} ${await removed.text()}`);
  await page.waitForSelector("#no-passkeys:not([hidden])");
  check((await page.locator("#passkeys li").count()) === 0, "the page's list is empty");
  const list = await page.evaluate(async () => {
    const r = await fetch("/webauthn/credentials", { credentials: "same-origin" });
    return { status: r.status, body: await r.json() };
  });
  check(list.status === 200 && Array.isArray(list.body.credentials) && list.body.credentials.length === 0,
    "GET /webauthn/credentials is empty", JSON.stringify(list));
  await page.screenshot({ path: join(artifacts, "passkeys-4-removed.png"), fullPage: true });

  // 5. The authenticator still offers it, the server no longer takes it.
  await page.click("#logout");
  await page.waitForSelector("#signed-out:not([hidden])");
  const [refused] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/webauthn/login"),
    page.click("#passkey-login"),
  ]);
  const refusedBody = await refused.json().catch(() => ({}));
  check(refused.status() === 401 && refusedBody.code === "invalid_credential",
    "a login with the removed passkey is 401 invalid_credential", `${refused.status()} ${JSON.stringify(refusedBody)}`);
  await page.waitForFunction(() => document.getElementById("status").textContent.length > 0);
  check(await page.isVisible("#signed-out"), "the page stays logged out");
  await page.screenshot({ path: join(artifacts, "passkeys-5-refused.png"), fullPage: true });
} catch (error) {
  failures.push(`unexpected: ${error && error.stack ? error.stack : error}`);
  console.log(`  FAILED: unexpected: ${error}`);
} finally {
  check(foreignRequests.length === 0, "no request left the server's origin", foreignRequests.join(", "));
  check(pageErrors.length === 0, "no script errors on the page", pageErrors.join(" | "));
  if (context) await context.close();
}

console.log(`passkeys: ${tally.passed} passed, ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);
