// The operator's path through the UI, in a real browser against a real
// control plane, node and upstream that tests/tests/admin_ui.rs started:
// sign in, create an API with a route, deploy it, call it through the node,
// see the fleet and the traffic, roll back, make a key; models (a bad
// schema refused beside the field, a model in use not deleted), a request
// validator, a gateway response put and then served by the node, an
// outbound credential whose secret is never shown; and check that a
// read-only token cannot change anything. A screenshot of every screen goes
// to SCREENSHOT_DIR.
import { env, eventually, gatewayGet, launch, screenshot, step, summary, unlabelled } from "./browser.mjs";

const ADMIN_URL = env("ARCHWAY_ADMIN_URL");
const ADMIN_TOKEN = env("ARCHWAY_ADMIN_TOKEN");
const READONLY_TOKEN = env("ARCHWAY_READONLY_TOKEN");
const NODE_ADDR = env("ARCHWAY_NODE_ADDR");
const NODE_ID = env("ARCHWAY_NODE_ID");
const UPSTREAM = env("ARCHWAY_UPSTREAM");
const DOMAIN = env("ARCHWAY_API_DOMAIN");
const API = "shop";
const HOST = `${API}.${DOMAIN}`;

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
page.setDefaultTimeout(15_000);
page.on("dialog", (d) => d.accept());
const consoleErrors = [];
page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
page.on("pageerror", (e) => consoleErrors.push(String(e)));

/**
 * Opens a screen and waits until it is that screen, loaded: its heading (by
 * role and name: the previous screen's heading does not count, a hash change
 * does not reload the page) and no "Loading…" left in main (lists show
 * "N of M …" once they have their answer).
 */
async function go(hash, heading) {
  await page.goto(`${ADMIN_URL}/${hash}`);
  if (heading === undefined) return;
  await page.locator("main").getByRole("heading", { name: heading, exact: true }).waitFor();
  await eventually(`${hash} finished loading`, async () => (await page.locator("main").getByText("Loading…").count()) === 0);
}

/** The total the traffic screen shows, as a number. */
async function trafficTotal() {
  const text = await page.getByTestId("traffic-total").innerText();
  const n = Number((/([\d,]+)\s+request/.exec(text) || [])[1]?.replace(/,/g, ""));
  if (!Number.isFinite(n)) throw new Error(`no total in: ${text}`);
  return n;
}

async function signIn(token, role) {
  await go("");
  await page.getByLabel("Admin API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("role").filter({ hasText: role }).waitFor();
}

async function noUnlabelled(screen) {
  const bad = await unlabelled(page);
  if (bad.length) throw new Error(`${screen}: inputs without a label: ${bad.join(" | ")}`);
}

/** Sets the method's integration to the upstream at `path` and saves it. */
async function saveRoute(path) {
  await go(`#/apis/${API}`, "Shop");
  await page.getByRole("link", { name: "Edit GET /hello" }).click();
  await page.getByLabel("Endpoint URL").fill(`http://${UPSTREAM}${path}`);
  await page.getByRole("button", { name: "Save method" }).click();
  await page.waitForURL((u) => !u.hash.includes("/methods/"));
}

async function deploy(description) {
  await go(`#/apis/${API}/deployments`, "Deployments and stages of Shop");
  await page.getByLabel("Stage", { exact: true }).fill("prod");
  await page.getByLabel("Description").fill(description);
  await page.getByRole("button", { name: "Deploy", exact: true }).click();
  await page.getByText(description).first().waitFor();
}

/**
 * The refusal shown beside the input labelled `label` (its .field-error,
 * named by `field`, is the input's description), matching `pattern`.
 */
async function besideField(label, field, pattern) {
  const error = page.locator(`.field-error[data-field="${field}"]`);
  await error.waitFor();
  const text = await error.innerText();
  if (!pattern.test(text)) throw new Error(`the message beside ${label} is not ${pattern}: ${text}`);
  const described = await page.getByLabel(label, { exact: true }).getAttribute("aria-describedby");
  if (!described?.split(" ").includes(await error.getAttribute("id"))) throw new Error(`the error is not tied to ${label}`);
  return text;
}

/** The row of the table `table` whose first cell starts with `name`. */
function row(table, name) {
  return page.getByRole("table", { name: table, exact: true }).locator("tbody tr").filter({
    has: page.locator("td:first-child", { hasText: new RegExp(`^${name}\\b`) }),
  });
}

async function answers(path) {
  return eventually(`the node answers ${path}`, async () => {
    const res = await gatewayGet(NODE_ADDR, HOST, "/prod/hello");
    return res.status === 200 && JSON.parse(res.body).path === path ? res : null;
  });
}

try {
  await step(page, "sign in with the admin token", async () => {
    await go("");
    await screenshot(page, "01-sign-in");
    await noUnlabelled("sign-in");
    await signIn(ADMIN_TOKEN, "admin");
    const url = page.url();
    if (url.includes(ADMIN_TOKEN)) throw new Error("the token is in the URL");
    const stored = await page.evaluate((token) => {
      const values = (st) => Array.from({ length: st.length }, (_, i) => st.getItem(st.key(i)) ?? "");
      return {
        session: values(sessionStorage).some((v) => v.includes(token)),
        local: localStorage.length,
        cookie: document.cookie,
      };
    }, ADMIN_TOKEN);
    if (!stored.session) throw new Error("the token is not in the tab's sessionStorage");
    if (stored.local !== 0 || stored.cookie !== "") throw new Error(`the token left the tab's sessionStorage: ${JSON.stringify(stored)}`);
  });

  await step(page, "create an API", async () => {
    await page.getByLabel("Name").fill("Shop");
    await page.getByLabel("Id (optional)").fill(API);
    await page.getByRole("button", { name: "Create API" }).click();
    await page.getByRole("link", { name: "Shop" }).waitFor();
    await screenshot(page, "02-apis");
    await noUnlabelled("apis");
  });

  await step(page, "a bad path template shows the API's message beside the field", async () => {
    await page.getByRole("link", { name: "Shop" }).click();
    await page.getByLabel("Path part").fill("{bad");
    await page.getByRole("button", { name: "Create resource" }).click();
    const error = page.locator('.field-error[data-field="path_part"]');
    await error.waitFor();
    const text = await error.innerText();
    if (!/path_part/.test(text)) throw new Error(`the message does not name the field: ${text}`);
    // Beside the field: the error is the input's description.
    const described = await page.getByLabel("Path part").getAttribute("aria-describedby");
    const errorId = await error.getAttribute("id");
    if (!described?.split(" ").includes(errorId)) throw new Error("the error is not tied to the Path part input");
    await screenshot(page, "03-field-error");
  });

  await step(page, "create a route: /hello GET to the upstream", async () => {
    await page.getByLabel("Path part").fill("hello");
    await page.getByRole("button", { name: "Create resource" }).click();
    await page.getByText("/hello", { exact: true }).filter({ visible: true }).first().waitFor();
    await page.getByRole("link", { name: "Add method to /hello" }).click();
    await page.getByLabel("HTTP method").selectOption("GET");
    await screenshot(page, "04-method");
    await noUnlabelled("method");
    await page.getByLabel("Endpoint URL").fill(`http://${UPSTREAM}/v1`);
    await page.getByRole("button", { name: "Save method" }).click();
    await page.waitForURL((u) => !u.hash.includes("/methods/"));
    await page.getByText("/hello", { exact: true }).filter({ visible: true }).first().waitFor();
    await screenshot(page, "05-api-tree");
    await noUnlabelled("api detail");
  });

  await step(page, "deploy to prod and get 200 through the node", async () => {
    await deploy("first release");
    await answers("/v1");
  });

  await step(page, "a second deployment serves the new integration", async () => {
    await saveRoute("/v2");
    await deploy("second release");
    await answers("/v2");
    await go(`#/apis/${API}/deployments`, "Deployments and stages of Shop");
    await page.getByText("second release").first().waitFor();
    await screenshot(page, "06-deployments");
    await noUnlabelled("deployments");
  });

  await step(page, "a WEBSOCKET API is created with its route selection expression and shows routes, not resources", async () => {
    await go("#/apis", "APIs");
    await page.getByLabel("Name").fill("Chat");
    await page.getByLabel("Id (optional)").fill("chat");
    await page.getByLabel("Protocol").selectOption("WEBSOCKET");
    const expression = page.getByLabel("Route selection expression");
    if ((await expression.inputValue()) !== "$request.body.action") throw new Error("no default expression");
    // One the API refuses (headers cannot select a route): its message
    // shows beside the field.
    await expression.fill("$request.header.action");
    await page.getByRole("button", { name: "Create API" }).click();
    const error = page.locator('.field-error[data-field="route_selection_expression"]');
    await error.waitFor();
    if (!/request\.body/.test(await error.innerText())) throw new Error(`unexpected: ${await error.innerText()}`);
    await expression.fill("$request.body.action");
    await page.getByRole("button", { name: "Create API" }).click();
    await page.getByRole("link", { name: "Chat" }).click();
    await page.locator("main").getByRole("heading", { name: "Chat", exact: true }).waitFor();
    await page.getByRole("heading", { name: "Routes", exact: true }).waitFor();
    await page.getByText("No routes: a WEBSOCKET API needs one to be deployed.").waitFor();
    if ((await page.getByRole("heading", { name: "Resources and methods" }).count()) !== 0) {
      throw new Error("a WEBSOCKET API shows resources");
    }
    if ((await page.locator("dd code").filter({ hasText: "$request.body.action" }).count()) !== 1) {
      throw new Error("the route selection expression is not shown");
    }
    // Routes come from a document (route_key:); the page lists them by key.
    await go("#/import", "Import a configuration");
    await page.getByLabel("Document").fill(
      [
        "apis:",
        "  - name: Chat",
        "    id: chat",
        "    protocol: WEBSOCKET",
        "    route_selection_expression: $request.body.action",
        "    routes:",
        "      - { route_key: $disconnect, integration: { type: MOCK } }",
        "      - { route_key: sendMessage, route_response_selection_expression: $default, integration: { type: MOCK } }",
        "      - { route_key: $connect, authorization: AWS_IAM, integration: { type: MOCK } }",
        "",
      ].join("\n"),
    );
    await page.getByRole("button", { name: "Preview" }).click();
    await page.getByText("Chat sendMessage", { exact: true }).first().waitFor();
    await page.getByRole("button", { name: "Apply", exact: true }).click();
    await page.getByRole("heading", { name: "Applied" }).waitFor();
    await go("#/apis/chat", "Chat");
    const rows = page.getByRole("list", { name: "Routes" }).getByRole("listitem");
    await eventually("three routes", async () => (await rows.count()) === 3);
    const keys = await rows.locator("code.verb").allInnerTexts();
    if (keys.join(" ") !== "$connect sendMessage $disconnect") throw new Error(`routes in order: ${keys.join(" ")}`);
    if (!(await rows.nth(1).innerText()).includes("two-way")) throw new Error("sendMessage is not shown two-way");
    if (!(await rows.nth(0).innerText()).includes("AWS_IAM")) throw new Error("$connect's authorization is not shown");
    await screenshot(page, "06b-websocket-api");
    await noUnlabelled("websocket api");
  });

  await step(page, "the fleet page shows the node at the new version", async () => {
    await go("#/fleet", "Fleet");
    const row = page.getByTestId(`node-${NODE_ID}`);
    await row.waitFor();
    await eventually("the node's applied version equals the control plane's", async () => {
      const applied = (await row.locator('[data-col="applied"]').innerText()).trim();
      const current = (await page.getByTestId("config-version").innerText()).trim();
      const behind = await row.evaluate((el) => el.classList.contains("behind"));
      return /^\d+$/.test(applied) && applied === current && !behind;
    });
    await screenshot(page, "07-fleet");
    await noUnlabelled("fleet");
  });

  await step(page, "the requests show in the traffic total and chart", async () => {
    await go(`#/traffic/${API}/prod`, "Traffic");
    // What the node already served (the deploy checks' requests) settles
    // first: the same total over more than a poll (5 s) and a report (1 s).
    let before = -1;
    await eventually(
      "the traffic total settles",
      async () => {
        const first = await trafficTotal();
        await page.waitForTimeout(6_500);
        const again = await trafficTotal();
        before = again;
        return first === again;
      },
      60_000,
      0,
    );
    const N = 7;
    for (let i = 0; i < N; i++) {
      const res = await gatewayGet(NODE_ADDR, HOST, "/prod/hello");
      if (res.status !== 200) throw new Error(`request ${i + 1} of ${N}: ${res.status} ${res.body}`);
    }
    let last = before;
    await eventually(
      `the traffic total goes from ${before} to ${before + N}`,
      async () => {
        last = await trafficTotal();
        if (last > before + N) throw new Error(`the total went past ${before} + ${N}: ${last}`);
        return last === before + N;
      },
      40_000,
      500,
    ).catch((e) => {
      throw new Error(`${e.message} (last total ${last})`);
    });
    const chart = page.getByTestId("chart-rps");
    await chart.locator("canvas").first().waitFor();
    const points = Number(await chart.getAttribute("data-points"));
    if (!(points > 0)) throw new Error(`the requests-per-second chart drew ${points} points`);
    await screenshot(page, "08-traffic");
    await noUnlabelled("traffic");
  });

  await step(page, "roll back in one click and get the old answer", async () => {
    await go(`#/apis/${API}/deployments`, "Deployments and stages of Shop");
    await page.getByRole("region", { name: "prod", exact: true }).getByRole("button", { name: "Roll back" }).click();
    await answers("/v1");
    await screenshot(page, "09-rolled-back");
  });

  let keyValue = "";
  await step(page, "create a key and see its value once", async () => {
    await go("#/keys", "API keys");
    await page.getByLabel("Key name").fill("ui-key");
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = page.getByTestId("new-key-value");
    await secret.waitFor();
    keyValue = (await secret.locator("code").innerText()).trim();
    if (keyValue.length < 20) throw new Error(`key value too short: ${keyValue}`);
    await screenshot(page, "10-key-created");
    await noUnlabelled("keys");
    await go("#/apis", "APIs");
    await go("#/keys", "API keys");
    await page.getByText("ui-key").first().waitFor();
    const html = await page.content();
    if (html.includes(keyValue)) throw new Error("the key value is shown again");
  });

  const modelUrl = (name) => `https://apigateway.amazonaws.com/restapis/${API}/models/${name}`;
  await step(page, "models: a bad schema is refused beside the schema, a good one is created", async () => {
    await go(`#/apis/${API}`, "Shop");
    await page.locator("summary", { hasText: "Create a model" }).click();
    const form = page.getByRole("form", { name: "Create a model" });
    await form.getByLabel("Model name").fill("Item");
    const schema = form.getByLabel("Schema (JSON Schema, draft 4)");
    // Not JSON: refused in the browser, nothing sent, in the server's words.
    await schema.fill('{\n  "type": "object",\n}');
    await form.getByRole("button", { name: "Create model" }).click();
    await besideField("Schema (JSON Schema, draft 4)", "schema", /^model\.schema: is not JSON: .*line 3/s);
    // JSON that does not compile as draft 4: the server's refusal, beside the same field.
    await schema.fill('{"type": "objekt"}');
    await form.getByRole("button", { name: "Create model" }).click();
    await besideField("Schema (JSON Schema, draft 4)", "schema", /^model\.schema: does not compile as a JSON Schema \(draft 4\)/);
    await screenshot(page, "10b-model-schema-refused");
    await schema.fill('{"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}');
    await form.getByRole("button", { name: "Create model" }).click();
    await row("Models", "Item").waitFor();
    if (await page.locator('.field-error[data-field="schema"]').count()) throw new Error("the refusal is still shown");
    // A second model refers to the first by its URL; the list says so.
    await form.getByLabel("Model name").fill("Order");
    await schema.fill(JSON.stringify({ type: "object", properties: { item: { $ref: modelUrl("Item") } } }));
    await form.getByRole("button", { name: "Create model" }).click();
    await eventually("Order refers to Item", async () => (await row("Models", "Order").innerText()).includes("Item"));
  });

  await step(page, "models: edit a description; a model another names cannot be deleted, and says why under its row", async () => {
    await page.getByRole("button", { name: "Edit model Order" }).click();
    const form = page.getByRole("form", { name: "Edit model Order" });
    if (!(await form.getByLabel("Model name").isDisabled())) throw new Error("a model's name can be edited");
    await form.getByLabel("Model description").fill("An order of one item");
    await form.getByRole("button", { name: "Save model" }).click();
    await eventually("the new description is listed", async () => (await row("Models", "Order").innerText()).includes("An order of one item"));
    await page.getByRole("button", { name: "Delete model Item" }).click();
    const refusal = page.locator("tr.row-failure .failure");
    await refusal.waitFor();
    const text = await refusal.innerText();
    if (!/FailedPrecondition/.test(text) || !/model 'Item' is referenced by model 'Order'/.test(text))
      throw new Error(`unexpected refusal: ${text}`);
    await row("Models", "Item").waitFor();
    await screenshot(page, "10c-models");
    await noUnlabelled("models");
  });

  await step(page, "request validators: create one, then change what it checks", async () => {
    const form = page.getByRole("form", { name: "Create a request validator" });
    await form.getByLabel("Validator name").fill("all");
    await form.getByRole("button", { name: "Create request validator" }).click();
    await eventually("all checks both", async () => (await row("Request validators", "all").innerText()).includes("body and parameters"));
    await page.getByRole("button", { name: "Edit request validator all" }).click();
    const edit = page.getByRole("form", { name: "Edit request validator all" });
    await edit.getByLabel("Validate parameters").uncheck();
    await edit.getByRole("button", { name: "Save request validator" }).click();
    await eventually("all checks the body only", async () => {
      const cells = await row("Request validators", "all").locator("td").allInnerTexts();
      return cells[1] === "body";
    });
    // One no method uses is deleted.
    await form.getByLabel("Validator name").fill("spare");
    await form.getByRole("button", { name: "Create request validator" }).click();
    await row("Request validators", "spare").waitFor();
    await page.getByRole("button", { name: "Delete request validator spare" }).click();
    await eventually("spare is gone", async () => (await row("Request validators", "spare").count()) === 0);
    await row("Request validators", "all").waitFor();
  });

  await step(page, "gateway responses: a bad header mapping is refused beside it; a customisation is put and served", async () => {
    const form = page.getByRole("form", { name: "Customise a gateway response" });
    await form.getByLabel("Response type").selectOption("MISSING_AUTHENTICATION_TOKEN");
    await form.getByLabel("Status code").fill("404");
    const headers = form.getByLabel("Response headers (Name: value, one per line)");
    // A source the gateway cannot read: the server names the mapping.
    await headers.fill("X-Gateway: method.request.body");
    await form.getByRole("button", { name: "Save gateway response" }).click();
    await besideField("Response headers (Name: value, one per line)", "response_parameters", /gatewayresponse\.header\.X-Gateway/);
    await headers.fill("X-Gateway: 'archway-ui'\nX-Request: context.requestId");
    await form.getByLabel("Template 1").fill('{"message": "no such path", "type": "$context.error.responseType"}');
    await form.getByRole("button", { name: "Save gateway response" }).click();
    const listed = row("Gateway responses", "MISSING_AUTHENTICATION_TOKEN");
    await eventually("the customisation is listed", async () => /404[\s\S]*X-Gateway: 'archway-ui'/.test(await listed.innerText()));
    await screenshot(page, "10d-gateway-responses");
    await noUnlabelled("gateway responses");
    // Another type, put with the form's defaults, then reset to the default answer.
    await form.getByLabel("Response type").selectOption("DEFAULT_5XX");
    await form.getByRole("button", { name: "Save gateway response" }).click();
    await row("Gateway responses", "DEFAULT_5XX").waitFor();
    await page.getByRole("button", { name: "Reset gateway response DEFAULT_5XX to default" }).click();
    await eventually("DEFAULT_5XX is back to the default", async () => (await row("Gateway responses", "DEFAULT_5XX").count()) === 0);
    await listed.waitFor();
    // Served once deployed: an unknown path of the REST API answers with it.
    await deploy("gateway responses");
    await eventually("the node answers an unknown path with the customisation", async () => {
      const res = await gatewayGet(NODE_ADDR, HOST, "/prod/no-such-path");
      if (res.status !== 404) return null;
      if (res.headers["x-gateway"] !== "archway-ui") throw new Error(`headers: ${JSON.stringify(res.headers)}`);
      if (!res.headers["x-request"]) throw new Error("no x-request header");
      const body = JSON.parse(res.body);
      if (body.message !== "no such path" || body.type !== "MISSING_AUTHENTICATION_TOKEN") throw new Error(`body: ${res.body}`);
      return res;
    });
  });

  const secret = `uiSecret${Date.now()}/Kx9+EXAMPLE`;
  await step(page, "outbound credentials: a bad key id is refused beside it; one is put, and its secret is never shown", async () => {
    await go("#/iam", "IAM users and roles");
    const form = page.getByRole("form", { name: "Put an outbound credential" });
    await form.getByLabel("Credential name").fill("lambda-caller");
    await form.getByLabel("Access key id").fill("akia-not-a-key");
    const secretInput = form.getByLabel("Secret access key");
    if ((await secretInput.getAttribute("type")) !== "password") throw new Error("the secret is typed in the clear");
    await secretInput.fill(secret);
    await form.getByLabel("Role ARN (optional)").fill("arn:aws:iam::123456789012:role/caller");
    await form.getByRole("button", { name: "Put credential" }).click();
    await besideField("Access key id", "credential.access_key_id", /upper-case letters and digits/);
    if ((await secretInput.inputValue()) !== "") throw new Error("the secret stays in the form after a refusal");
    await form.getByLabel("Access key id").fill("AKIAIOSFODNN7EXAMPLE");
    await secretInput.fill(secret);
    await form.getByRole("button", { name: "Put credential" }).click();
    const listed = row("Outbound credentials", "lambda-caller");
    await listed.waitFor();
    const text = await listed.innerText();
    if (!text.includes("AKIAIOSFODNN7EXAMPLE") || !text.includes("arn:aws:iam::123456789012:role/caller"))
      throw new Error(`the row lacks the key id or role ARN: ${text}`);
    if ((await secretInput.inputValue()) !== "") throw new Error("the secret stays in the form");
    const secretShown = async () => (await page.content()).includes(secret) || (await page.locator("main").innerText()).includes(secret);
    if (await secretShown()) throw new Error("the secret is on the page");
    await screenshot(page, "12b-outbound-credentials");
    await noUnlabelled("outbound credentials");
    // Opened again, and replaced: the secret is asked for, never filled in.
    await go("#/apis", "APIs");
    await go("#/iam", "IAM users and roles");
    await page.getByRole("button", { name: "Replace outbound credential lambda-caller" }).click();
    const replace = page.getByRole("form", { name: "Replace outbound credential lambda-caller" });
    if ((await replace.getByLabel("Access key id").inputValue()) !== "AKIAIOSFODNN7EXAMPLE") throw new Error("the key id is not filled in");
    if ((await replace.getByLabel("Secret access key").inputValue()) !== "") throw new Error("the secret is filled in");
    if (await secretShown()) throw new Error("the secret is on the page");
    await replace.getByRole("button", { name: "Cancel" }).click();
  });

  for (const [hash, heading, name] of [
    ["#/plans", "Usage plans", "11-plans"],
    ["#/iam", "IAM users and roles", "12-iam"],
    ["#/tokens", "Admin tokens", "13-tokens"],
    ["#/import", "Import a configuration", "14-import"],
    [`#/apis/${API}/authorizers`, "Authorizers", "15-authorizers"],
  ]) {
    await step(page, `screen ${hash} renders without errors`, async () => {
      await go(hash, heading);
      const failure = await page.locator(".failure").count();
      if (failure) throw new Error(`the screen shows a failure: ${await page.locator(".failure").first().innerText()}`);
      await screenshot(page, name);
      await noUnlabelled(hash);
    });
  }

  await step(page, "narrow window: no page-wide horizontal scroll", async () => {
    await page.setViewportSize({ width: 400, height: 800 });
    for (const [hash, heading] of [
      ["#/apis", "APIs"],
      [`#/apis/${API}`, "Shop"],
      [`#/apis/${API}/deployments`, "Deployments and stages of Shop"],
      ["#/fleet", "Fleet"],
      ["#/keys", "API keys"],
    ]) {
      await go(hash, heading);
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      if (wide > 420) throw new Error(`${hash} is ${wide} px wide at 400`);
    }
    await go(`#/apis/${API}/deployments`, "Deployments and stages of Shop");
    await screenshot(page, "16-narrow-deployments");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await step(page, "keyboard: every section link is reached with Tab, in order, and Enter follows it", async () => {
    await go("#/apis", "APIs");
    const links = await page.locator('nav[aria-label="Sections"] a').evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    if (links.length < 5) throw new Error(`only ${links.length} section links: ${links.join(", ")}`);
    const seen = [];
    const reached = [];
    for (let i = 0; i < 40 && reached.length < links.length; i++) {
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => {
        const el = document.activeElement;
        return {
          text: el?.textContent?.trim() ?? "",
          nav: el?.closest('nav[aria-label="Sections"]') ? el.getAttribute("href") : null,
        };
      });
      seen.push(focused.text);
      if (focused.nav !== null) reached.push(focused.nav);
    }
    if (reached.join(" ") !== links.join(" "))
      throw new Error(`Tab reached ${reached.join(", ")} instead of ${links.join(", ")}; focus went: ${seen.join(" → ")}`);
    const lastLink = links[links.length - 1];
    await page.keyboard.press("Enter");
    await page.waitForURL((u) => u.hash === lastLink);
  });

  await step(page, "a read-only token sees everything and cannot change anything", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(READONLY_TOKEN, "read-only");
    await go("#/apis", "APIs");
    await page.getByRole("link", { name: "Shop" }).waitFor();
    if (!(await page.getByRole("button", { name: "Create API" }).isDisabled())) throw new Error("Create API is enabled");
    await go(`#/apis/${API}`, "Shop");
    await page.getByText("/hello", { exact: true }).filter({ visible: true }).first().waitFor();
    if (!(await page.getByRole("button", { name: "Create resource" }).isDisabled()))
      throw new Error("Create resource is enabled");
    await go(`#/apis/${API}/deployments`, "Deployments and stages of Shop");
    await page.getByText("second release").first().waitFor();
    for (const name of ["Deploy", "Roll back"]) {
      const buttons = page.getByRole("button", { name, exact: true });
      const count = await buttons.count();
      if (count === 0) throw new Error(`no ${name} button to check`);
      for (let i = 0; i < count; i++) {
        if (!(await buttons.nth(i).isDisabled())) throw new Error(`${name} is enabled`);
      }
    }
    await screenshot(page, "17-read-only");
    // Every screen: every button in main is disabled but the few that only
    // read or show (by name), and disclosures (aria-expanded): each enabled
    // disclosure is opened first, so the buttons of the form it shows are
    // checked too (on Shop, at least one: Rename or move). On the screens
    // with rows (ui-key, Shop) a row action must be there, and disabled.
    const reading = [
      /^Preview$/,
      /^Show (more|all)\b/,
      /^Close$/,
      /^Cancel$/,
      /^Try again$/,
      /^Sign out$/,
      /^Last \d+ (days|minutes|hours?)$/,
      /^Copy$/,
      /^Done$/,
      /^Undo changes$/,
      /^Open (user|role) /,
      /^Edit authorizer /,
      /^Edit (model|request validator|gateway response) /,
      /^Replace outbound credential /,
    ];
    for (const [hash, heading, rowAction] of [
      ["#/apis", "APIs", /Shop/],
      [`#/apis/${API}`, "Shop", /(model Order|request validator all|gateway response MISSING_AUTHENTICATION_TOKEN)/],
      [`#/apis/${API}/deployments`, "Deployments and stages of Shop", null],
      [`#/apis/${API}/authorizers`, "Authorizers", null],
      ["#/keys", "API keys", /ui-key/],
      ["#/plans", "Usage plans", null],
      ["#/iam", "IAM users and roles", /outbound credential lambda-caller/],
      ["#/import", "Import a configuration", null],
    ]) {
      await go(hash, heading);
      if (hash === "#/keys") await page.getByText("ui-key").first().waitFor();
      if (hash === `#/apis/${API}`) {
        await page.getByText("/hello", { exact: true }).filter({ visible: true }).first().waitFor();
        await row("Models", "Order").waitFor();
        await row("Request validators", "all").waitFor();
        await row("Gateway responses", "MISSING_AUTHENTICATION_TOKEN").waitFor();
      }
      if (hash === "#/iam") await row("Outbound credentials", "lambda-caller").waitFor();
      // Bounded: one click per closed disclosure there was at the start.
      const closed = page.locator('main button[aria-expanded="false"]:enabled');
      let opened = 0;
      for (let left = await closed.count(); left > 0 && (await closed.count()) > 0; left--) {
        await closed.first().click();
        opened++;
      }
      if (hash === `#/apis/${API}` && opened === 0) throw new Error(`${hash}: no disclosure to open`);
      const buttons = await page.evaluate(() =>
        [...document.querySelectorAll("main button")].map((b) => ({
          name: (b.getAttribute("aria-label") || b.textContent || "").trim(),
          disabled: b.disabled,
          disclosure: b.hasAttribute("aria-expanded"),
          inRow: !!b.closest("tbody tr"),
        })),
      );
      const enabled = buttons
        .filter((b) => !b.disabled && !b.disclosure && !reading.some((r) => r.test(b.name)))
        .map((b) => b.name);
      if (enabled.length) throw new Error(`${hash}: enabled for a read-only token: ${enabled.join(", ")}`);
      if (!buttons.some((b) => b.disabled)) throw new Error(`${hash}: no disabled controls at all`);
      if (rowAction) {
        const rowActions = buttons.filter((b) => b.inRow && rowAction.test(b.name) && !reading.some((r) => r.test(b.name)));
        if (!rowActions.length)
          throw new Error(`${hash}: no row action to check (buttons: ${buttons.map((b) => b.name).join(", ")})`);
        if (rowActions.some((b) => !b.disabled)) throw new Error(`${hash}: a row action is enabled`);
      }
    }
    // And the server refuses anyway: a gRPC-web CreateRestApi with the token.
    const status = await page.evaluate(async (token) => {
      const name = new TextEncoder().encode("sneaky");
      const msg = new Uint8Array([0x12, name.length, ...name]);
      const frame = new Uint8Array(5 + msg.length);
      new DataView(frame.buffer).setUint32(1, msg.length);
      frame.set(msg, 5);
      const res = await fetch("/archway.v1.RestApiService/CreateRestApi", {
        method: "POST",
        headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", authorization: `Bearer ${token}` },
        body: frame,
      });
      const header = res.headers.get("grpc-status");
      if (header) return Number(header);
      const text = new TextDecoder().decode(await res.arrayBuffer());
      return Number((/grpc-status:\s*(\d+)/.exec(text) || [])[1]);
    }, READONLY_TOKEN);
    if (status !== 7) throw new Error(`expected PERMISSION_DENIED (7), got ${status}`);
  });

  await step(page, "no errors in the browser console", async () => {
    // gRPC-web refusals come back as HTTP 200 and are not logged; a "status
    // of 4xx" line is a real HTTP failure (a missing asset, a 401 at the
    // HTTP level), so nothing is filtered out.
    if (consoleErrors.length) throw new Error(consoleErrors.join("\n"));
  });
} finally {
  summary();
  await browser.close();
}
