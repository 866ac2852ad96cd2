// Shared pieces of the browser tests: Debian's Chromium through
// playwright-core (no browser download), named steps that stop at the first
// failure with a screenshot, bounded waits, and plain HTTP to the node.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (the Rust test sets it: tests/tests/admin_ui.rs)`);
  return v;
};

/** Flags that keep Chromium off the network (this machine has none) and headless. */
export const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
];

export async function launch() {
  return chromium.launch({
    executablePath: process.env.ARCHWAY_TEST_CHROMIUM || "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
}

const shots = process.env.SCREENSHOT_DIR || "target/ui-screenshots";
mkdirSync(shots, { recursive: true });

export async function screenshot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

let failed = 0;
let passed = 0;

/** Runs one named check; the first failure ends the run (later steps build on earlier ones). */
export async function step(page, name, fn) {
  const started = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    failed++;
    console.log(`not ok - ${name}: ${err?.stack || err}`);
    try {
      await screenshot(page, `FAILED-${name.replace(/[^a-z0-9]+/gi, "-")}`);
      console.log(`page text at failure:\n${(await page.locator("body").innerText()).slice(0, 3000)}`);
    } catch {}
    throw new Error(`step failed: ${name}`);
  }
}

export function summary() {
  console.log(`${passed} passed, ${failed} failed`);
}

/** Polls `check` (which returns a truthy value or throws) until it holds, at most `ms`. */
export async function eventually(what, check, ms = 20_000, every = 200) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = new Error(`not yet: ${what}`);
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: gave up after ${ms} ms: ${last?.message || last}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** GET through the node with the Host that selects the API: status, headers (lower-case names) and body. */
export function gatewayGet(nodeAddr, host, path) {
  const [hostname, port] = nodeAddr.split(":");
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port: Number(port), path, method: "GET", headers: { host }, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** Inputs, selects and text areas without a label: each is an accessibility defect. */
export async function unlabelled(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea")]
      .filter((el) => el.type !== "hidden")
      .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby"))
      .map((el) => el.outerHTML.slice(0, 120)),
  );
}
