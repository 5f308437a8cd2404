// The browser test's flow, run by run.mjs in this page: every step a web
// front-end takes, through the same client.js wrapper a front-end would use.
// Each part returns the steps it passed; a failed check throws, naming the step.

import { ApiError, createClient } from "./client.js";

const params = new URLSearchParams(location.search);
const API = params.get("api");
const client = createClient(API);
const steps = [];

function log(step, detail = "") {
  steps.push(step);
  document.getElementById("log").textContent += `ok  ${step} ${detail}\n`;
}

function check(condition, step, detail) {
  if (!condition) throw new Error(`${step}: ${detail}`);
}

// A raw fetch (no refresh), to look at exactly what the browser gets.
async function raw(path, { method = "GET", token, credentials = "include" } = {}) {
  const response = await fetch(API + path, {
    method,
    credentials,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  const text = await response.text();
  return { response, body: text ? JSON.parse(text) : null };
}

async function expectError(promise, status, codes, step) {
  try {
    await promise;
  } catch (e) {
    check(e instanceof ApiError, step, `not an API error: ${e}`);
    check(e.status === status, step, `status ${e.status}, expected ${status}`);
    check([codes].flat().includes(e.body?.code), step, `code ${e.body?.code}, expected ${codes}`);
    return e;
  }
  throw new Error(`${step}: succeeded, expected ${status}`);
}

function noRefreshCookieVisible(step) {
  check(!document.cookie.includes("refreshTkn"), step, `document.cookie shows it: ${document.cookie}`);
}

// Polls the access token until the server calls it expired.
async function waitForExpiry(token, step) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { response, body } = await raw("/api/users/me", { token });
    if (response.status === 401) return { response, body };
    check(response.status === 200, step, `status ${response.status} while waiting`);
    check(Date.now() < deadline, step, "the access token never expired");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function resetTokenFromMailbox(email, base) {
  const deadline = Date.now() + 20_000;
  const query = new URLSearchParams({ email, base });
  for (;;) {
    const response = await fetch(`/__mailbox/reset-token?${query}`);
    if (response.ok) return (await response.text()).trim();
    check(Date.now() < deadline, "mailbox", `no reset mail to ${email}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function signIn(email, password, step) {
  const { status, body } = await client.api("/api/users/login", { method: "POST", body: { email, password } });
  check(status === 200 && body.success && body.accessToken, step, JSON.stringify(body));
  client.accessToken = body.accessToken;
  noRefreshCookieVisible(step);
  log(step);
}

// Sign up and read /me while the first access token is fresh.
async function part1({ email, password }) {
  const { status, body } = await client.api("/api/users/signup", {
    method: "POST",
    body: { firstName: "Ada", lastName: "Lovelace", email, password },
  });
  check(status === 201 && body.user.email === email && body.accessToken, "signup", JSON.stringify(body));
  client.accessToken = body.accessToken;
  noRefreshCookieVisible("signup");
  log("signup", body.user.id);

  const me = await raw("/api/users/me", { token: client.accessToken });
  check(me.response.status === 200 && me.body.user.email === email, "me", JSON.stringify(me.body));
  log("me");
  return steps.splice(0);
}

// From a page on an origin that is not allowed: every credentialed request
// fails in the browser (no CORS headers), and /reauth is refused by the server.
async function probeForeign() {
  for (const [method, path] of [["POST", "/api/users/reauth"], ["GET", "/api/users/me"], ["GET", "/api/users/sessions"]]) {
    let outcome;
    try {
      const response = await fetch(API + path, { method, credentials: "include" });
      outcome = `readable ${response.status}`;
    } catch (e) {
      outcome = e instanceof TypeError ? "blocked" : `threw ${e}`;
    }
    check(outcome === "blocked", `foreign ${method} ${path}`, outcome);
    log(`foreign ${method} ${path} blocked`);
  }
  return steps.splice(0);
}

async function part2({ email, password, newPassword }) {
  // The access token expires; the 401 says so, readably.
  const expired = await waitForExpiry(client.accessToken, "expiry");
  const challenge = expired.response.headers.get("WWW-Authenticate");
  check(challenge !== null, "expiry", "WWW-Authenticate is not exposed to the page");
  check(challenge.startsWith('Bearer realm="api"') && challenge.includes('error="invalid_token"'), "expiry", challenge);
  check(expired.body.code === "expired_access_token", "expiry", JSON.stringify(expired.body));
  log("expired 401", challenge);

  // /reauth with the cookie alone.
  const reauth = await raw("/api/users/reauth", { method: "POST" });
  check(reauth.response.status === 201 && reauth.body.accessToken, "reauth", JSON.stringify(reauth.body));
  check(reauth.body.accessToken !== client.accessToken, "reauth", "the same access token came back");
  check(reauth.response.headers.get("Cache-Control") === "no-store", "reauth", "cacheable");
  client.accessToken = reauth.body.accessToken;
  noRefreshCookieVisible("reauth");
  log("reauth");

  const retried = await raw("/api/users/me", { token: client.accessToken });
  check(retried.response.status === 200 && retried.body.user.email === email, "retry me", JSON.stringify(retried.body));
  log("retry me");

  // Two requests hit the expired token at once: one refresh serves both.
  await waitForExpiry(client.accessToken, "second expiry");
  const before = client.stats.reauths;
  const [me, sessions] = await Promise.all([
    client.api("/api/users/me"),
    client.api("/api/users/sessions"),
  ]);
  check(me.body.user.email === email, "single-flight", JSON.stringify(me.body));
  check(sessions.body.sessions.some((s) => s.current), "single-flight", JSON.stringify(sessions.body));
  check(client.stats.reauths - before === 1, "single-flight", `${client.stats.reauths - before} refreshes`);
  log("single-flight refresh");

  // Forgot and reset, with the reset page on this front-end's origin.
  const base = `${location.origin}/reset`;
  const forgot = await client.api("/api/users/forgotpass", {
    method: "POST",
    body: { email },
    headers: { "X-reset-base": base },
  });
  check(forgot.status === 200 && forgot.body.success, "forgot", JSON.stringify(forgot.body));
  log("forgot");
  const resetToken = await resetTokenFromMailbox(email, base);
  log("reset mail", `${resetToken.length} chars`);
  // A fresh access token, so that the check below sees the reset end its
  // session rather than the token's expiry.
  await client.refresh();
  const signedInToken = client.accessToken;
  const reset = await client.api(`/api/users/resetpass/${encodeURIComponent(resetToken)}`, {
    method: "PATCH",
    body: { password: newPassword, passwordConfirm: newPassword },
  });
  check(reset.status === 200 && reset.body.success, "reset", JSON.stringify(reset.body));
  log("reset");
  const revoked = await raw("/api/users/me", { token: signedInToken });
  check(revoked.response.status === 401 && revoked.body.code === "session_revoked", "reset ends sessions", JSON.stringify(revoked.body));
  const afterReset = await raw("/api/users/reauth", { method: "POST" });
  check(afterReset.response.status === 401, "reset ends sessions", JSON.stringify(afterReset.body));
  log("reset ended the session");

  await expectError(
    client.api("/api/users/login", { method: "POST", body: { email, password } }),
    400, "invalid_credentials", "old password refused");
  log("old password refused");
  await signIn(email, newPassword, "sign in with the new password");

  // Sign out: the cookie is cleared and /reauth refused.
  const logout = await client.api("/api/users/logout", { method: "POST" });
  check(logout.status === 205, "sign out", `status ${logout.status}`);
  log("sign out");
  await expectError(client.refresh(), 401, ["missing_refresh_token", "invalid_refresh_token"], "reauth after sign out");
  log("reauth refused after sign out");

  // Sign in again, then sign out everywhere.
  await signIn(email, newPassword, "sign in again");
  const token = client.accessToken;
  const master = await client.api("/api/users/master-logout", { method: "POST" });
  check(master.status === 205, "master-logout", `status ${master.status}`);
  log("master-logout");
  const gone = await raw("/api/users/me", { token });
  check(gone.response.status === 401 && gone.body.code === "session_revoked", "master-logout", JSON.stringify(gone.body));
  const refused = await raw("/api/users/reauth", { method: "POST" });
  check(refused.response.status === 401, "master-logout", JSON.stringify(refused.body));
  log("reauth refused after master-logout");
  return steps.splice(0);
}

window.gatepassFlow = { part1, probeForeign, part2 };
window.gatepassReady = true;
