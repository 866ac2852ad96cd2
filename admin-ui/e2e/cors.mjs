// CORS of an HTTP API, as a browser enforces it: a page on one loopback
// origin fetches the gateway on another (tests/tests/cors.rs starts the
// processes, serves the pages and configures the API). Each fetch runs in
// the page, so the browser itself sends the preflight, reads the CORS
// headers and refuses what they do not allow.
import { env, launch, screenshot, step, summary } from "./browser.mjs";

const allowedPage = env("ARCHWAY_ALLOWED_PAGE"); // http://127.0.0.1:P/
const refusedPage = env("ARCHWAY_REFUSED_PAGE"); // http://localhost:P/ (another origin)
const gateway = env("ARCHWAY_GATEWAY"); // http://web.execute-api.localhost:N/prod

/** Runs fetch(url, init) in the page: the answer as the script may read it, or the browser's refusal. */
async function pageFetch(page, url, init = {}) {
  return page.evaluate(
    async ([url, init]) => {
      try {
        const r = await fetch(url, init);
        return {
          status: r.status,
          body: await r.text(),
          backend: r.headers.get("x-backend"),
          requestId: r.headers.get("x-amzn-requestid"),
        };
      } catch (e) {
        return { refused: String(e) };
      }
    },
    [url, init],
  );
}

function expect(cond, what, got) {
  if (!cond) throw new Error(`${what}; got ${JSON.stringify(got)}`);
}

const browser = await launch();
try {
  const page = await browser.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(String(e)));

  await step(page, "the allowed page loads", async () => {
    await page.goto(allowedPage, { timeout: 20_000 });
    expect((await page.title()) === "cors", "the test page", await page.title());
  });

  await step(page, "a simple GET from the allowed origin is readable, exposed header included", async () => {
    const r = await pageFetch(page, `${gateway}/items`);
    expect(r.status === 200 && r.body === "items", "200 items", r);
    expect(r.backend === "1", "x-backend exposed", r);
    expect(r.requestId === null, "x-amzn-requestid not exposed", r);
  });

  await step(page, "a preflighted PUT with a custom header and JSON passes", async () => {
    const r = await pageFetch(page, `${gateway}/items`, {
      method: "PUT",
      headers: { "x-tenant": "t1", "content-type": "application/json" },
      body: "{}",
    });
    expect(r.status === 200 && r.body === "stored", "200 stored", r);
  });

  await step(page, "a credentialed request gets the origin and credentials back", async () => {
    const r = await pageFetch(page, `${gateway}/items`, { credentials: "include" });
    expect(r.status === 200, "200 with credentials", r);
  });

  await step(page, "a refusal of the gateway is readable from the allowed origin", async () => {
    const r = await pageFetch(page, `${gateway}/nowhere`);
    expect(r.status === 404 && r.body.includes("Not Found"), "404 readable", r);
  });

  await step(page, "a preflight for a verb not allowed is refused by the browser", async () => {
    const r = await pageFetch(page, `${gateway}/items`, { method: "DELETE" });
    expect(r.refused, "DELETE refused", r);
  });

  await step(page, "a header not allowed is refused by the browser", async () => {
    const r = await pageFetch(page, `${gateway}/items`, { headers: { "x-secret": "1" } });
    expect(r.refused, "x-secret refused", r);
  });

  await step(page, "another origin cannot read the answer", async () => {
    await page.goto(refusedPage, { timeout: 20_000 });
    const simple = await pageFetch(page, `${gateway}/items`);
    expect(simple.refused, "simple GET refused", simple);
    const credentialed = await pageFetch(page, `${gateway}/items`, { credentials: "include" });
    expect(credentialed.refused, "credentialed GET refused", credentialed);
    const preflighted = await pageFetch(page, `${gateway}/items`, {
      method: "PUT",
      headers: { "x-tenant": "t1" },
    });
    expect(preflighted.refused, "preflighted PUT refused", preflighted);
    await screenshot(page, "refused-origin");
  });

  await step(page, "no script errors on the pages", async () => {
    expect(problems.length === 0, "no page errors", problems);
  });
  summary();
} finally {
  await browser.close();
}
