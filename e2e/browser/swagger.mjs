// Swagger UI as a person uses it, for the checks of both listeners'
// /docs (swagger-ui.mjs, swagger-ui-admin.mjs): is every operation listed,
// and "Try it out" → parameters and body → "Execute" → the live answer.

// An operation's block, by Swagger UI's DOM id (operations-<tag>-<operationId>).
export const opSel = (o) => `#operations-${o.tag}-${o.id}`;

// Checks that each of `operations` ({tag, id, method, path, deprecated}) is
// listed once with its method, path and deprecation mark, and nothing else.
export async function checkOperationsListed(page, operations, check) {
  for (const o of operations) {
    const block = page.locator(opSel(o));
    const n = await block.count();
    if (!check(n === 1, `operation ${o.id} is listed`, `${n} blocks match ${opSel(o)}`)) continue;
    const method = ((await block.locator(".opblock-summary-method").first().textContent()) ?? "").trim();
    const path = ((await block.locator(".opblock-summary [data-path]").first().getAttribute("data-path")) ?? "").trim();
    const cls = (await block.getAttribute("class")) ?? "";
    check(
      method.toLowerCase() === o.method && path === o.path,
      `operation ${o.id} is ${o.method.toUpperCase()} ${o.path}`,
      `shown as ${method} ${path}`,
    );
    check(
      cls.includes("opblock-deprecated") === Boolean(o.deprecated),
      `operation ${o.id} is ${o.deprecated ? "" : "not "}marked deprecated`,
      `class="${cls}"`,
    );
  }
  const total = await page.locator(".opblock").count();
  check(total === operations.length, `exactly ${operations.length} operations are listed`, `found ${total}`);
}

// Expands operation `o`, presses "Try it out" (once), fills the parameters
// (`params`: name → value) and the JSON body if given, presses "Execute"
// and returns {status, text, json, wire, sent} of the live response.
export async function tryItOut(page, o, { body, params } = {}) {
  const block = page.locator(opSel(o));
  if (!(await block.evaluate((el) => el.classList.contains("is-open")))) {
    await block.locator("button.opblock-summary-control").first().click();
  }
  // The block renders its body after the click, and count() does not wait:
  // wait for the toggle itself ("Try it out", or "Cancel" once pressed),
  // then press it only if it still says "Try it out". A loaded CI machine
  // once raced past an unrendered button and never got a text area.
  const toggle = block.locator("button.try-out__btn").first();
  await toggle.waitFor({ state: "visible" });
  if (((await toggle.textContent()) ?? "").includes("Try it out")) {
    await toggle.click();
    await block.locator("button.try-out__btn", { hasText: "Cancel" }).waitFor({ state: "visible" });
  }
  await block.locator("button.execute").waitFor({ state: "visible" });
  for (const [name, value] of Object.entries(params ?? {})) {
    const input = block.locator(`tr[data-param-name="${name}"] input`);
    await input.waitFor({ state: "visible" });
    await input.fill(String(value));
  }
  if (body !== undefined) {
    const textarea = block.locator("textarea.body-param__text");
    await textarea.fill(JSON.stringify(body, null, 2));
  }
  // A previous run's result is replaced; wait for the new one by the
  // response that belongs to this click.
  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === o.path && r.request().method().toLowerCase() === o.method),
    block.locator("button.execute").click(),
  ]);
  await block.locator(".live-responses-table tbody .response-col_status").first().waitFor();
  // The table re-renders after the fetch resolves; wait until it shows this status.
  await page.waitForFunction(
    ([sel, st]) => {
      const cell = document.querySelector(`${sel} .live-responses-table tbody .response-col_status`);
      return cell && cell.textContent.trim().startsWith(String(st));
    },
    [opSel(o), response.status()],
  );
  const shownStatus = ((await block.locator(".live-responses-table tbody .response-col_status").first().textContent()) ?? "").trim();
  const shownBody = ((await block.locator(".live-responses-table tbody .response-col_description pre").first().textContent()) ?? "").trim();
  let json;
  try {
    json = JSON.parse(shownBody);
  } catch {
    json = undefined;
  }
  const sent = await response.request().allHeaders();
  return { status: Number.parseInt(shownStatus, 10), text: shownBody, json, wire: response.status(), sent };
}

// Opens `<baseUrl>/docs` and checks that it answers 200 and shows a title
// containing `title`.
export async function openDocs(page, baseUrl, title, check) {
  const resp = await page.goto(`${baseUrl}/docs`, { waitUntil: "load" });
  check(resp && resp.status() === 200, `GET ${baseUrl}/docs answers 200`, `status ${resp && resp.status()}`);
  await page.waitForSelector(".swagger-ui .information-container .title");
  const shown = (await page.textContent(".swagger-ui .information-container .title")) ?? "";
  check(shown.includes(title), `Swagger UI shows the title ${JSON.stringify(title)}`, JSON.stringify(shown));
}
