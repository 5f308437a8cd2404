// The API client a web front-end needs: the access token in memory, the
// refresh token in the HttpOnly cookie (sent by the browser, never seen
// here), and one refresh on a 401, shared by every request that hit it
// (single-flight). docs/web-frontends.md shows the same wrapper.

const REFRESHABLE = ["missing_access_token", "invalid_access_token", "expired_access_token"];

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.feedback ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function createClient(base) {
  let accessToken = null;
  let refreshing = null; // the one /reauth in flight
  const stats = { reauths: 0 };

  function refresh() {
    refreshing ??= (async () => {
      stats.reauths += 1;
      const response = await fetch(`${base}/api/users/reauth`, { method: "POST", credentials: "include" });
      const body = await response.json();
      if (!response.ok) {
        accessToken = null;
        throw new ApiError(response.status, body);
      }
      accessToken = body.accessToken;
    })().finally(() => { refreshing = null; });
    return refreshing;
  }

  // fetch with the token; on a refreshable 401, refresh once (unless another
  // request already did) and retry once.
  async function api(path, { method = "GET", body, headers = {} } = {}) {
    const send = () => fetch(base + path, {
      method,
      credentials: "include",
      headers: {
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...(accessToken ? { Authorization: `Bearer ${accessToken}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const sentWith = accessToken;
    let response = await send();
    if (response.status === 401) {
      const { code } = await response.clone().json();
      if (REFRESHABLE.includes(code)) {
        if (accessToken === sentWith) await refresh();
        response = await send();
      }
    }
    const text = await response.text();
    const json = text ? JSON.parse(text) : null;
    if (!response.ok) throw new ApiError(response.status, json);
    return { status: response.status, body: json };
  }

  return {
    api,
    refresh,
    stats,
    get accessToken() { return accessToken; },
    set accessToken(token) { accessToken = token; },
  };
}
