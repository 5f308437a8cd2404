// A third-party service that verifies gatepass access tokens with `jose`,
// knowing nothing but the issuer's URL (tests/tests/signing_keys.rs drives it).
//
//   node verify-token.mjs ISSUER
//
// It reads the discovery document, then verifies each token read from stdin
// (one per line) with one remote key set for the whole run, as a long-lived
// service would, and prints one JSON line per token:
// {"ok":true,"sub":…,"kid":…} or {"ok":false,"code":…}. The key set is kept
// for as long as the server's Cache-Control: max-age allows.
import { createInterface } from "node:readline";
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from "jose";

const issuer = process.argv[2];
const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
if (discovery.issuer !== issuer) {
  throw new Error(`discovery names issuer ${discovery.issuer}, not ${issuer}`);
}
const jwksUri = new URL(discovery.jwks_uri);
const cacheControl = (await fetch(jwksUri)).headers.get("cache-control") ?? "";
const maxAge = Number(/max-age=(\d+)/.exec(cacheControl)?.[1] ?? 0);
const keys = createRemoteJWKSet(jwksUri, {
  cacheMaxAge: maxAge * 1000,
  cooldownDuration: 0,
});

const lines = createInterface({ input: process.stdin });
for await (const token of lines) {
  let answer;
  try {
    const { payload } = await jwtVerify(token.trim(), keys, {
      issuer: discovery.issuer,
      algorithms: ["EdDSA"],
    });
    answer = { ok: true, sub: payload.sub, kid: decodeProtectedHeader(token).kid };
  } catch (e) {
    answer = { ok: false, code: e.code ?? String(e), message: e.message };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
