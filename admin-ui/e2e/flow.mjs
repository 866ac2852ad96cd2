// The operator's path through the UI, in a real browser against a real
// control plane, node and upstream that tests/tests/admin_ui.rs started:
// sign in, create an API with a route, deploy it, call it through the node,
// see the fleet and the traffic, roll back, make a key, and check that a
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

async function go(hash) {
  await page.goto(`${ADMIN_URL}/${hash}`);
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
  await go(`#/apis/${API}`);
  await page.getByRole("link", { name: "Edit GET /hello" }).click();
  await page.getByLabel("Endpoint URL").fill(`http://${UPSTREAM}${path}`);
  await page.getByRole("button", { name: "Save method" }).click();
  await page.waitForURL((u) => !u.hash.includes("/methods/"));
}

async function deploy(description) {
  await go(`#/apis/${API}/deployments`);
  await page.getByLabel("Stage", { exact: true }).fill("prod");
  await page.getByLabel("Description").fill(description);
  await page.getByRole("button", { name: "Deploy", exact: true }).click();
  await page.getByText(description).first().waitFor();
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
    const stored = await page.evaluate(() => ({ s: sessionStorage.length, l: localStorage.length, c: document.cookie }));
    if (stored.l !== 0 || stored.c !== "") throw new Error(`the token left the tab's sessionStorage: ${JSON.stringify(stored)}`);
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
    await go(`#/apis/${API}/deployments`);
    await page.getByText("second release").first().waitFor();
    await screenshot(page, "06-deployments");
    await noUnlabelled("deployments");
  });

  await step(page, "the fleet page shows the node at the new version", async () => {
    await go("#/fleet");
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

  await step(page, "the request shows in the traffic chart", async () => {
    await go(`#/traffic/${API}/prod`);
    await eventually(
      "the traffic total counts the requests",
      async () => {
        const text = await page.getByTestId("traffic-total").innerText();
        const n = Number((/([\d,]+)\s+request/.exec(text) || [])[1]?.replace(/,/g, ""));
        return n >= 2;
      },
      40_000,
      500,
    );
    await page.getByTestId("chart-rps").locator("canvas").first().waitFor();
    await screenshot(page, "08-traffic");
    await noUnlabelled("traffic");
  });

  await step(page, "roll back in one click and get the old answer", async () => {
    await go(`#/apis/${API}/deployments`);
    await page.getByRole("region", { name: "prod", exact: true }).getByRole("button", { name: "Roll back" }).click();
    await answers("/v1");
    await screenshot(page, "09-rolled-back");
  });

  let keyValue = "";
  await step(page, "create a key and see its value once", async () => {
    await go("#/keys");
    await page.getByLabel("Key name").fill("ui-key");
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = page.getByTestId("new-key-value");
    await secret.waitFor();
    keyValue = (await secret.locator("code").innerText()).trim();
    if (keyValue.length < 20) throw new Error(`key value too short: ${keyValue}`);
    await screenshot(page, "10-key-created");
    await noUnlabelled("keys");
    await go("#/apis");
    await go("#/keys");
    await page.getByText("ui-key").first().waitFor();
    const html = await page.content();
    if (html.includes(keyValue)) throw new Error("the key value is shown again");
  });

  for (const [hash, name] of [
    ["#/plans", "11-plans"],
    ["#/iam", "12-iam"],
    ["#/tokens", "13-tokens"],
    ["#/import", "14-import"],
    [`#/apis/${API}/authorizers`, "15-authorizers"],
  ]) {
    await step(page, `screen ${hash} renders without errors`, async () => {
      await go(hash);
      await page.locator("main h1").first().waitFor();
      await page.waitForLoadState("networkidle");
      const failure = await page.locator(".failure").count();
      if (failure) throw new Error(`the screen shows a failure: ${await page.locator(".failure").first().innerText()}`);
      await screenshot(page, name);
      await noUnlabelled(hash);
    });
  }

  await step(page, "narrow window: no page-wide horizontal scroll", async () => {
    await page.setViewportSize({ width: 400, height: 800 });
    for (const hash of ["#/apis", `#/apis/${API}`, `#/apis/${API}/deployments`, "#/fleet", "#/keys"]) {
      await go(hash);
      await page.locator("main h1").first().waitFor();
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      if (wide > 420) throw new Error(`${hash} is ${wide} px wide at 400`);
    }
    await go(`#/apis/${API}/deployments`);
    await screenshot(page, "16-narrow-deployments");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await step(page, "keyboard: the sections are reachable with Tab", async () => {
    await go("#/apis");
    await page.locator("main h1").first().waitFor();
    const seen = [];
    let reached = false;
    for (let i = 0; i < 20 && !reached; i++) {
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => document.activeElement?.textContent?.trim() ?? "");
      seen.push(focused);
      reached = focused === "Fleet";
    }
    if (!reached) throw new Error(`Tab never reached the Fleet link; focus went: ${seen.join(" → ")}`);
    await page.keyboard.press("Enter");
    await page.waitForURL(/#\/fleet/);
  });

  await step(page, "a read-only token sees everything and cannot change anything", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(READONLY_TOKEN, "read-only");
    await go("#/apis");
    await page.getByRole("link", { name: "Shop" }).waitFor();
    if (!(await page.getByRole("button", { name: "Create API" }).isDisabled())) throw new Error("Create API is enabled");
    await go(`#/apis/${API}`);
    await page.getByText("/hello", { exact: true }).filter({ visible: true }).first().waitFor();
    if (!(await page.getByRole("button", { name: "Create resource" }).isDisabled()))
      throw new Error("Create resource is enabled");
    await go(`#/apis/${API}/deployments`);
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
    // Every screen: each button that submits a form or destroys something is
    // disabled (reading controls, such as Preview of an import, stay on).
    for (const hash of ["#/apis", `#/apis/${API}`, `#/apis/${API}/deployments`, `#/apis/${API}/authorizers`, "#/keys", "#/plans", "#/iam", "#/import"]) {
      await go(hash);
      await page.locator("main h1").first().waitFor();
      await page.waitForLoadState("networkidle");
      const enabled = await page.evaluate(() =>
        [...document.querySelectorAll("main button")]
          .filter((b) => (b.type === "submit" || b.classList.contains("danger")) && !b.disabled)
          .map((b) => b.textContent.trim())
          .filter((name) => !["Preview"].includes(name)),
      );
      if (enabled.length) throw new Error(`${hash}: enabled for a read-only token: ${enabled.join(", ")}`);
      const writes = await page.evaluate(() => [...document.querySelectorAll("main button")].filter((b) => b.disabled).length);
      if (writes === 0) throw new Error(`${hash}: no disabled controls at all`);
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
    // Refusals the UI showed are not console errors; anything else is a defect.
    const unexpected = consoleErrors.filter((e) => !/status of 4\d\d/.test(e));
    if (unexpected.length) throw new Error(unexpected.join("\n"));
  });
} finally {
  summary();
  await browser.close();
}
