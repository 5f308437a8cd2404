// Runs the browser test page in headless Chromium (Debian's /usr/bin/chromium,
// never a downloaded browser) and prints one line per passed step.
//
//   node run.mjs <page URL> <foreign page URL> <API base URL>
//
// The page URL is on an allowed origin (http://localhost:<A>), the foreign one
// on an origin that is not (http://127.0.0.1:<A>), the API on another origin
// still (http://localhost:<B>). Exit status 0 when every step passed, 1 when
// one failed, 2 when the browser could not be started.

import { chromium } from "playwright-core";

const [pageUrl, foreignUrl, apiBase] = process.argv.slice(2);
if (!pageUrl || !foreignUrl || !apiBase) {
  console.error("usage: node run.mjs <page URL> <foreign page URL> <API base URL>");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const STEP_TIMEOUT = 60_000;

const email = `browser.${process.pid}.${Date.now()}@example.com`;
const password = "tY7#mQ2v!pLx-gatepass";
const newPassword = "N3w-horse-battery-staple!";

let browser;
try {
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
} catch (e) {
  console.error(`FAIL could not start ${executablePath}: ${e.message}`);
  process.exit(2);
}

const report = (steps) => steps.forEach((step) => console.log(`ok ${step}`));

async function open(context, url) {
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on("console", (message) => {
    // The browser reports every 4xx and CORS refusal the flow provokes on purpose.
    if (!/Failed to load resource|blocked by CORS policy/.test(message.text())) {
      console.log(`console(${new URL(url).host}): ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => console.log(`pageerror(${new URL(url).host}): ${error.message}`));
  await page.goto(url);
  await page.waitForFunction(() => window.gatepassReady === true);
  return page;
}

let failed = false;
try {
  const context = await browser.newContext();
  const apiUrl = new URL(apiBase);
  const app = await open(context, pageUrl);
  report(await app.evaluate((args) => window.gatepassFlow.part1(args), { email, password }));

  // The refresh cookie is in the browser, as the contract says...
  const cookies = await context.cookies(`${apiBase}/api/users`);
  const refresh = cookies.find((c) => c.name === "refreshTkn");
  if (!refresh) throw new Error(`cookie: no refreshTkn in the browser: ${JSON.stringify(cookies)}`);
  const attributes = { httpOnly: true, secure: true, sameSite: "None", path: "/api/users", domain: apiUrl.hostname };
  for (const [name, want] of Object.entries(attributes)) {
    if (refresh[name] !== want) throw new Error(`cookie: ${name} is ${refresh[name]}, expected ${want}`);
  }
  console.log("ok cookie is HttpOnly; Secure; SameSite=None; Path=/api/users");
  // ...and a script on a page under its path still cannot read it.
  const underPath = await context.newPage();
  await underPath.goto(new URL("/api/users/cookie-probe.html", pageUrl).href);
  const visible = await underPath.evaluate(() => document.cookie);
  if (visible.includes("refreshTkn")) throw new Error(`cookie: document.cookie shows it: ${visible}`);
  await underPath.close();
  console.log("ok document.cookie cannot see refreshTkn");

  // A page on an origin that is not allowed, in the same browser (same cookies).
  const foreign = await open(context, foreignUrl);
  report(await foreign.evaluate(() => window.gatepassFlow.probeForeign()));
  await foreign.close();

  report(await app.evaluate((args) => window.gatepassFlow.part2(args), { email, password, newPassword }));
  await context.close();
} catch (e) {
  failed = true;
  console.log(`FAIL ${e.message}`);
} finally {
  await browser.close();
}
if (!failed) console.log("browser flow passed");
process.exit(failed ? 1 : 0);
