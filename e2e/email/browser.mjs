// The browser half of e2e/email/email_check.py: Debian's headless Chromium
// driven by playwright-core (no browser download, as e2e/browser/), as a
// remote control. Reads one JSON command per line on stdin and answers each
// with one JSON line on stdout ({"ok": true, ...} or {"ok": false,
// "error"}); the checks themselves are made by the Python side. Logs go to
// stderr.
//
//   {"cmd":"open","url"}                    a new page at url (the previous one is closed):
//                                           {status, headers, url, title}
//   {"cmd":"fill","selector","value"}
//   {"cmd":"submit","selector","path"}      clicks selector and waits for the POST to path:
//                                           {status, body}
//   {"cmd":"wait_text","selector","not":[...]}  until its text is non-empty and none of "not":
//                                           {text}
//   {"cmd":"screenshot","path"}
//   {"cmd":"report"}                        what this page did since it opened: {requests,
//                                           foreign_requests, console, csp_violations, page_errors}
//   {"cmd":"quit"}
//
// usage: node browser.mjs <base url>
// env:   CHROMIUM_PATH (default /usr/bin/chromium)

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { launch } from "../browser/chromium.mjs";

const [baseUrl] = process.argv.slice(2);
if (!baseUrl) {
  console.error("usage: node browser.mjs <base url>");
  process.exit(2);
}
const origin = new URL(baseUrl).origin;
const userDataDir = mkdtempSync(join(tmpdir(), "auth-e2e-email-chromium-"));

const context = await launch(userDataDir, { width: 900, height: 700 }, ["--no-proxy-server"]);

// Every CSP violation the page itself sees (the init script is injected by
// the DevTools protocol, so it is not subject to the page's policy).
await context.addInitScript(() => {
  window.__cspViolations = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__cspViolations.push({
      directive: e.violatedDirective,
      blocked: e.blockedURI,
      sample: e.sample,
      source: e.sourceFile,
      line: e.lineNumber,
    });
  });
});

let page;
let seen;
const fresh = () => ({ requests: [], foreign_requests: [], console: [], page_errors: [] });
seen = fresh();

// Every request of any page of this context, and those that go elsewhere
// than the server.
context.on("request", (req) => {
  const url = req.url();
  seen.requests.push(`${req.method()} ${url}`);
  if (url.startsWith("data:") || url.startsWith("blob:")) return;
  let reqOrigin;
  try {
    reqOrigin = new URL(url).origin;
  } catch {
    reqOrigin = "<unparsable>";
  }
  if (reqOrigin !== origin) seen.foreign_requests.push(`${req.method()} ${url}`);
});

const commands = {
  async open({ url }) {
    if (page) await page.close();
    seen = fresh();
    page = await context.newPage();
    page.on("console", (msg) => seen.console.push({ type: msg.type(), text: msg.text() }));
    page.on("pageerror", (err) => seen.page_errors.push(String(err)));
    const resp = await page.goto(url, { waitUntil: "load" });
    return {
      status: resp ? resp.status() : null,
      headers: resp ? await resp.allHeaders() : {},
      url: page.url(),
      title: await page.title(),
    };
  },
  async fill({ selector, value }) {
    await page.fill(selector, value);
    return {};
  },
  async submit({ selector, path }) {
    const [response] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === path && r.request().method() === "POST"),
      page.click(selector),
    ]);
    return { status: response.status(), body: await response.text() };
  },
  async wait_text({ selector, not = [] }) {
    await page.waitForFunction(
      ([sel, skip]) => {
        const el = document.querySelector(sel);
        const text = el ? el.textContent.trim() : "";
        return text !== "" && !skip.includes(text);
      },
      [selector, not],
    );
    return { text: ((await page.textContent(selector)) ?? "").trim() };
  },
  async screenshot({ path }) {
    await page.screenshot({ path, fullPage: true });
    return {};
  },
  async report() {
    const csp = page ? await page.evaluate(() => window.__cspViolations ?? []) : [];
    return { ...seen, csp_violations: csp };
  },
};

const reply = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const lines = createInterface({ input: process.stdin });
try {
  for await (const line of lines) {
    if (!line.trim()) continue;
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch (err) {
      reply({ ok: false, error: `not JSON: ${err}` });
      continue;
    }
    if (cmd.cmd === "quit") {
      reply({ ok: true });
      break;
    }
    const run = commands[cmd.cmd];
    if (!run) {
      reply({ ok: false, error: `unknown command ${cmd.cmd}` });
      continue;
    }
    try {
      reply({ ok: true, ...(await run(cmd)) });
    } catch (err) {
      reply({ ok: false, error: String(err && err.stack ? err.stack : err) });
    }
  }
} finally {
  await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}
