// Drives the admin listener's Swagger UI (--admin-bind, /docs) in Debian's
// headless Chromium, as an operator would: the page lists every admin
// operation; "Authorize" takes an admin key (admin_key); "Try it out" on
// admin_search_users with a part of a user's name answers 200 with that
// user; the same search without the key (logged out of the dialog) is 401.
// Fails if the page requests anything from another host.
//
// usage: ADMIN_KEY=ak_... node swagger-ui-admin.mjs <admin base url> <username> <artifacts dir>
// env:   CHROMIUM_PATH (default /usr/bin/chromium)

import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checker, foreignRequestsOf, launch } from "./chromium.mjs";
import { checkOperationsListed, openDocs, opSel, tryItOut } from "./swagger.mjs";

const [adminUrl, username, artifacts] = process.argv.slice(2);
const key = process.env.ADMIN_KEY;
if (!adminUrl || !username || !artifacts || !key) {
  console.error("usage: ADMIN_KEY=ak_... node swagger-ui-admin.mjs <admin base url> <username> <artifacts dir>");
  process.exit(2);
}
const origin = new URL(adminUrl).origin;
mkdirSync(artifacts, { recursive: true });

const tally = checker();
const { check, failures } = tally;

// Every operation of docs/admin-openapi.json (operations-<tag>-<operationId>).
const OPERATIONS = [
  { tag: "Users", id: "admin_search_users", method: "get", path: "/admin/users" },
  { tag: "Users", id: "admin_get_user", method: "get", path: "/admin/users/{id}" },
  { tag: "Users", id: "admin_delete_user", method: "delete", path: "/admin/users/{id}" },
  { tag: "Users", id: "admin_disable_user", method: "post", path: "/admin/users/{id}/disable" },
  { tag: "Users", id: "admin_enable_user", method: "post", path: "/admin/users/{id}/enable" },
  { tag: "Users", id: "admin_revoke_user_sessions", method: "post", path: "/admin/users/{id}/revoke-sessions" },
  { tag: "Users", id: "admin_clear_user_backoff", method: "post", path: "/admin/users/{id}/clear-backoff" },
  { tag: "Users", id: "admin_send_password_reset", method: "post", path: "/admin/users/{id}/password-reset" },
  { tag: "Events", id: "admin_list_events", method: "get", path: "/admin/events" },
];

const userDataDir = mkdtempSync(join(tmpdir(), "auth-e2e-chromium-admin-"));
let foreignRequests = [];
const pageErrors = [];
let context;

try {
  context = await launch(userDataDir, { width: 1280, height: 900 });
  foreignRequests = foreignRequestsOf(context, origin);
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (err) => pageErrors.push(String(err)));

  await openDocs(page, adminUrl, "auth-service admin", check);

  await checkOperationsListed(page, OPERATIONS, check);

  const search = OPERATIONS[0];
  const block = page.locator(opSel(search));
  const runSearch = (query) => tryItOut(page, search, { params: { query } });

  let r = await runSearch(username.slice(3).toUpperCase());
  check(r.wire === 401 && r.json?.code === "unauthorized", "the search without a key shows 401 unauthorized", `${r.status} ${r.text}`);

  await page.locator(".auth-wrapper button.authorize").click();
  const form = page.locator(".auth-container", { hasText: "admin_key" });
  await form.locator("input").first().fill(key);
  await form.locator("button.authorize").click();
  await page.locator(".dialog-ux button.close-modal").click();

  r = await runSearch(username.slice(3).toUpperCase());
  check(r.sent.authorization === `Bearer ${key}`, "Authorize → admin_key sends Authorization: Bearer <key>", JSON.stringify(r.sent.authorization?.slice(0, 10)));
  check(r.wire === 200, "the search with the key shows 200", `${r.status} ${r.text}`);
  const found = (r.json?.users ?? []).map((u) => u.username);
  check(found.length === 1 && found[0] === username, "it finds the user by a part of the name, in another case", r.text);
  await block.screenshot({ path: join(artifacts, "swagger-ui-admin-search.png") });

  check(foreignRequests.length === 0, "every request of the page went to the admin listener itself", foreignRequests.join(", "));
  check(pageErrors.length === 0, "no uncaught errors on the page", pageErrors.join(" | "));
} catch (err) {
  failures.push(`unexpected error: ${err && err.stack ? err.stack : err}`);
  console.log(`  FAILED: ${err && err.stack ? err.stack : err}`);
  try {
    const page = context?.pages()[0];
    if (page) await page.screenshot({ path: join(artifacts, "swagger-ui-admin-failure.png"), fullPage: true });
  } catch {
    // no screenshot then
  }
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}

console.log(`browser (admin): ${tally.passed} passed, ${failures.length} failed`);
if (failures.length) {
  for (const f of failures) console.log(`  - ${f}`);
  process.exit(1);
}
