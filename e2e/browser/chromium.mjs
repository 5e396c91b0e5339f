// What the Chromium checks share: their tally of checks, Debian's headless
// Chromium launched the way every check runs it (playwright-core, no
// browser download), and the guard that no request leaves the server.

import { chromium } from "playwright-core";

// Quiet and local: no sandbox (CI runs as root), no background traffic
// that the foreign-request guard would catch.
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The checks of one run: `check(cond, what, detail)`, `ok(what)`, and the tally. */
export function checker() {
  const tally = { passed: 0, failures: [] };
  tally.ok = (what) => {
    tally.passed += 1;
    console.log(`  ok: ${what}`);
  };
  tally.check = (cond, what, detail = "") => {
    if (cond) tally.ok(what);
    else {
      tally.failures.push(`${what}${detail ? `: ${detail}` : ""}`);
      console.log(`  FAILED: ${what}${detail ? `: ${detail}` : ""}`);
    }
    return cond;
  };
  return tally;
}

/** A persistent Chromium context in `userDataDir` (CHROMIUM_PATH, default /usr/bin/chromium). */
export async function launch(userDataDir, viewport, extraArgs = []) {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    headless: true,
    args: [...ARGS, ...extraArgs],
    viewport,
  });
  // Generous: CI shares two cores with the server and a cargo build.
  context.setDefaultTimeout(30_000);
  return context;
}

/** Every request of any page of `context` to another origin than `origin`, as it happens. */
export function foreignRequestsOf(context, origin) {
  const foreign = [];
  context.on("request", (req) => {
    const url = req.url();
    if (url.startsWith("data:") || url.startsWith("blob:")) return;
    let reqOrigin;
    try {
      reqOrigin = new URL(url).origin;
    } catch {
      reqOrigin = "<unparsable>";
    }
    if (reqOrigin !== origin) foreign.push(`${req.method()} ${url}`);
  });
  return foreign;
}
