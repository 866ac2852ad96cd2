// Figures for the "Measured" list, against the processes
// tests/tests/admin_ui.rs's ignored `ui_measurements` starts (1,000 APIs,
// 50 node streams): the first load's transferred bytes and time to
// interactive, and how the APIs page and the fleet page hold up.
import { env, eventually, launch } from "./browser.mjs";

const ADMIN_URL = env("ARCHWAY_ADMIN_URL");
const TOKEN = env("ARCHWAY_ADMIN_TOKEN");
const APIS = Number(env("ARCHWAY_EXPECT_APIS"));
const NODES = Number(env("ARCHWAY_EXPECT_NODES"));

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
page.setDefaultTimeout(60_000);

/** Long tasks (main thread busy > 50 ms) seen by the page since it loaded. */
async function watchLongTasks() {
  await page.evaluate(() => {
    window.__long = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__long.push(e.duration);
    }).observe({ type: "longtask" });
  });
}
const longTasks = () => page.evaluate(() => window.__long.splice(0));

// --- First load: bytes on the wire and time to interactive -------------------
const cdp = await context.newCDPSession(page);
await cdp.send("Network.enable");
await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
let transferred = 0;
const requests = [];
cdp.on("Network.responseReceived", (e) => requests.push(`${e.response.status} ${e.response.url.replace(ADMIN_URL, "")} ${e.response.headers["content-encoding"] || "identity"}`));
cdp.on("Network.loadingFinished", (e) => (transferred += e.encodedDataLength));
const start = Date.now();
await page.goto(`${ADMIN_URL}/`);
await page.getByLabel("Admin API token").waitFor({ state: "visible" });
const interactive = Date.now() - start;
const nav = await page.evaluate(() => {
  const n = performance.getEntriesByType("navigation")[0];
  return { domContentLoaded: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd) };
});
console.log(`first load: ${transferred} bytes transferred in ${requests.length} responses (${requests.join("; ")})`);
console.log(`first load: sign-in form interactive after ${interactive} ms (DOMContentLoaded ${nav.domContentLoaded} ms, load ${nav.load} ms)`);
await cdp.send("Network.setCacheDisabled", { cacheDisabled: false });

// --- The APIs page with 1,000 APIs ------------------------------------------
await page.getByLabel("Admin API token").fill(TOKEN);
await watchLongTasks();
const signIn = Date.now();
await page.getByRole("button", { name: "Sign in" }).click();
await page.getByText(`${APIS} of ${APIS} APIs`).waitFor();
console.log(`apis page: ${APIS} APIs listed ${Date.now() - signIn} ms after sign-in; long tasks ${JSON.stringify((await longTasks()).map(Math.round))}`);
const rows = await page.locator("table.list tbody tr").count();
console.log(`apis page: ${rows} rows drawn of ${APIS} (the rest behind "Show more"; the filter searches all)`);
const filter = page.getByLabel("Filter");
const typed = [];
// Ids run api-0000 … api-0999: each text narrows the list tenfold, then the
// empty filter brings back all of them (a text every id contains would
// measure nothing).
for (const [text, expect] of [
  ["api-05", 100],
  ["api-055", 10],
  ["api-0555", 1],
  ["", APIS],
]) {
  const t = Date.now();
  await filter.fill(text);
  await page.getByRole("status").filter({ hasText: new RegExp(`^\\s*${expect} of ${APIS} APIs\\s*$`) }).waitFor();
  const n = await page.locator("table.list tbody tr").count();
  if (n !== Math.min(expect, 200)) throw new Error(`filter "${text}": ${n} rows drawn for ${expect} matching`);
  typed.push(`"${text}" → ${expect} in ${Date.now() - t}`);
}
console.log(`apis page: filter answered ${typed.join(", ")} ms; long tasks ${JSON.stringify((await longTasks()).map(Math.round))}`);

// --- The fleet page with 50 nodes, polled every 2 s ---------------------------
await page.goto(`${ADMIN_URL}/#/fleet`);
await watchLongTasks();
const fleetStart = Date.now();
await eventually(`${NODES} node rows`, async () => (await page.locator("tr[data-testid^='node-']").count()) >= NODES, 30_000);
console.log(`fleet page: ${NODES} nodes shown ${Date.now() - fleetStart} ms after navigation`);
const polls = [];
page.on("response", (r) => r.url().includes("ListNodes") && polls.push(Date.now()));
const lags = [];
for (let i = 0; i < 10; i++) {
  // Main-thread lag while polling: how late a setTimeout(0) runs (what
  // input would wait for), not a real click.
  const t = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const start = performance.now();
        setTimeout(() => resolve(performance.now() - start), 0);
      }),
  );
  lags.push(Math.round(t));
  await page.waitForTimeout(1000);
}
const gaps = polls.slice(1).map((t, i) => t - polls[i]);
console.log(
  `fleet page: ${polls.length} polls in 10 s (gaps ${gaps.join(", ")} ms); main-thread lag samples ${lags.join(", ")} ms; long tasks ${JSON.stringify((await longTasks()).map(Math.round))}`,
);
await browser.close();
