"""Schemathesis hooks for gatepass (loaded by run.sh via SCHEMATHESIS_HOOKS).

Every test case of an operation that needs credentials gets a session of its
own: a fresh login, so its access token and refresh cookie are live even when
an earlier case signed out, ended every session, or replayed a cookie.
"""

import os
import threading
import uuid

import requests
import schemathesis

BASE = os.environ["GATEPASS_FUZZ_URL"]
EMAIL = f"fuzz.{uuid.uuid4().hex}@example.com"
PASSWORD = "tY7#mQ2v!pLx-gatepass"
COOKIE = "refreshTkn"

_account = threading.Lock()
_signed_up = False


def _ensure_account():
    global _signed_up
    with _account:
        if _signed_up:
            return
        body = {"firstName": "Fuzz", "lastName": "Tester", "email": EMAIL, "password": PASSWORD}
        response = requests.post(f"{BASE}/api/users/signup", json=body, timeout=30)
        if response.status_code != 201:
            raise RuntimeError(f"fuzz account signup: {response.status_code} {response.text}")
        _signed_up = True


def _refresh_cookie(response):
    # Read the raw header: the cookie is `Secure` and the server is plain http.
    for value in response.raw.headers.getlist("Set-Cookie"):
        name, _, rest = value.partition("=")
        if name.strip() == COOKIE:
            return rest.split(";", 1)[0]
    raise RuntimeError("login set no refresh cookie")


@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(
    operation_id=[
        "getMe",
        "getUser",
        "logout",
        "masterLogout",
        "reauth",
        "listSessions",
        "revokeSession",
        "changePassword",
    ]
)
class FreshSession:
    def get(self, case, context):
        _ensure_account()
        response = requests.post(
            f"{BASE}/api/users/login", json={"email": EMAIL, "password": PASSWORD}, timeout=30
        )
        if response.status_code != 200:
            raise RuntimeError(f"fuzz login: {response.status_code} {response.text}")
        return {"token": response.json()["accessToken"], "cookie": _refresh_cookie(response)}

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data['token']}"}
        if case.operation.path.endswith("/reauth"):
            case.cookies = {**(case.cookies or {}), COOKIE: data["cookie"]}
