"""Authentication over real HTTP: RC OAuth, the RingCX exchange, refresh, expiry, API tokens."""

from __future__ import annotations

import base64
import json
import time

from engage_sandbox import SandboxConfig


def _jwt_payload(token: str) -> dict:
    header, payload, signature = token.split(".")
    assert signature
    assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["alg"]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _assert_error_body(response, status: int, path: str, method: str) -> dict:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"errorCode", "generalMessage", "details", "requestUri", "timestamp"}
    assert body["requestUri"] == f"{path} - {method}"
    assert isinstance(body["timestamp"], int)
    assert abs(body["timestamp"] - time.time() * 1000) < 60_000
    return body


def test_jwt_chain_exchange_and_use(sandbox):
    rc = sandbox.rc_login()
    assert rc.status_code == 200
    rc_body = rc.json()
    for key in (
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_token_expires_in",
        "scope",
        "owner_id",
        "endpoint_id",
    ):
        assert key in rc_body
    assert rc_body["token_type"] == "bearer"

    ex = sandbox.exchange(rc_body["access_token"])
    assert ex.status_code == 200
    body = ex.json()
    for key in (
        "accessToken",
        "refreshToken",
        "tokenType",
        "mainAccountId",
        "agentDetails",
        "adminId",
        "adminUrl",
        "agentUrl",
        "ssoLogin",
    ):
        assert key in body
    accounts = sandbox.voice("GET", "accounts").json()
    assert {d["accountId"] for d in body["agentDetails"]} == {a["accountId"] for a in accounts}
    detail = body["agentDetails"][0]
    assert {"accountId", "accountName", "agentId", "firstName", "lastName"} <= set(detail)

    payload = _jwt_payload(body["accessToken"])
    assert isinstance(payload["exp"], float)
    assert {"iat", "jti", "sub"} <= set(payload)
    assert 290 < payload["exp"] - time.time() <= 300

    response = sandbox.http.get(
        "/voice/api/v1/admin/accounts",
        headers={"Authorization": f"Bearer {body['accessToken']}"},
    )
    assert response.status_code == 200
    assert response.json() == accounts


def test_password_grant_and_bad_credentials(sandbox):
    cfg = sandbox.config
    ok = sandbox.rc_login(
        grant_type="password",
        username=cfg.username,
        password=cfg.password.get_secret_value(),
        extension="",
    )
    assert ok.status_code == 200
    assert sandbox.exchange(ok.json()["access_token"]).status_code == 200

    wrong = sandbox.rc_login(grant_type="password", username=cfg.username, password="nope")
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"

    bad_jwt = sandbox.rc_login(
        grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion="not-the-jwt"
    )
    assert bad_jwt.status_code == 400

    bad_client = sandbox.http.post(
        "/restapi/oauth/token",
        data={"grant_type": "password", "username": cfg.username, "password": "x"},
        auth=(cfg.client_id, "wrong-secret"),
    )
    assert bad_client.status_code == 401
    assert bad_client.json()["error"] == "invalid_client"


def test_rc_refresh_grant_rotates(sandbox):
    cfg = sandbox.config
    first = sandbox.rc_login().json()
    auth = (cfg.client_id, cfg.client_secret.get_secret_value())
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = sandbox.http.post("/restapi/oauth/token", data=data, auth=auth)
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    again = sandbox.http.post("/restapi/oauth/token", data=data, auth=auth)
    assert again.status_code == 400


def test_exchange_variants(sandbox):
    rc_token = sandbox.rc_login().json()["access_token"]
    # as query parameters instead of a form body
    by_query = sandbox.http.post(
        "/api/auth/login/rc/accesstoken",
        params={"includeRefresh": "true", "rcAccessToken": rc_token, "rcTokenType": "Bearer"},
    )
    assert by_query.status_code == 200
    assert by_query.json()["refreshToken"]
    # no includeRefresh: no refresh token
    assert sandbox.exchange(rc_token, include_refresh=False).json().get("refreshToken") is None
    # an unknown RC token
    path = "/api/auth/login/rc/accesstoken"
    bad = sandbox.exchange("rcat-unknown")
    _assert_error_body(bad, 401, path, "POST")


def test_refresh_rotation_rejects_old_refresh_token(sandbox):
    first = sandbox.login()
    refreshed = sandbox.http.post(
        "/api/auth/token/refresh",
        data={"refresh_token": first["refreshToken"], "rcTokenType": "Bearer"},
    )
    assert refreshed.status_code == 200
    second = refreshed.json()
    assert second["accessToken"] != first["accessToken"]
    assert second["refreshToken"] != first["refreshToken"]
    ok = sandbox.http.get(
        "/voice/api/v1/admin/accounts", headers={"Authorization": f"Bearer {second['accessToken']}"}
    )
    assert ok.status_code == 200

    reused = sandbox.http.post(
        "/api/auth/token/refresh", data={"refresh_token": first["refreshToken"]}
    )
    _assert_error_body(reused, 401, "/api/auth/token/refresh", "POST")
    # the rotated one still works exactly once
    third = sandbox.http.post(
        "/api/auth/token/refresh", data={"refresh_token": second["refreshToken"]}
    )
    assert third.status_code == 200


def test_expired_access_token_gets_plain_text(sandbox):
    sandbox.settings(access_token_ttl_seconds=0.3)
    headers = sandbox.bearer()
    assert sandbox.http.get("/voice/api/v1/admin/accounts", headers=headers).status_code == 200
    time.sleep(0.4)
    before = sandbox.stats()["auth"]["unauthorized_401s"]
    expired = sandbox.http.get("/voice/api/v1/admin/accounts", headers=headers)
    assert expired.status_code == 401
    assert expired.text == "Jwt is expired"
    assert expired.headers["content-type"].startswith("text/plain")
    assert sandbox.stats()["auth"]["unauthorized_401s"] == before + 1


def test_admin_expire_and_revoke(sandbox):
    login = sandbox.login()
    headers = {"Authorization": f"Bearer {login['accessToken']}"}
    assert sandbox.admin("POST", "tokens/expire")["expired"] >= 1
    expired = sandbox.http.get("/voice/api/v1/admin/accounts", headers=headers)
    assert (expired.status_code, expired.text) == (401, "Jwt is expired")
    # refresh tokens survive expiry
    refreshed = sandbox.http.post(
        "/api/auth/token/refresh", data={"refresh_token": login["refreshToken"]}
    ).json()
    headers = {"Authorization": f"Bearer {refreshed['accessToken']}"}
    assert sandbox.http.get("/voice/api/v1/admin/accounts", headers=headers).status_code == 200

    sandbox.admin("POST", "tokens/revoke")
    revoked = sandbox.http.get("/voice/api/v1/admin/accounts", headers=headers)
    body = _assert_error_body(revoked, 401, "/voice/api/v1/admin/accounts", "GET")
    assert body["errorCode"] == "invalid.token"
    again = sandbox.http.post(
        "/api/auth/token/refresh", data={"refresh_token": refreshed["refreshToken"]}
    )
    assert again.status_code == 401
    # a full new login works again
    assert (
        sandbox.http.get("/voice/api/v1/admin/accounts", headers=sandbox.bearer()).status_code
        == 200
    )


def test_api_token_and_unauthenticated_calls(sandbox):
    path = "/voice/api/v1/admin/accounts"
    assert sandbox.http.get(path, headers=sandbox.api_headers).status_code == 200
    _assert_error_body(sandbox.http.get(path, headers={"X-Auth-Token": "nope"}), 401, path, "GET")
    _assert_error_body(sandbox.http.get(path), 401, path, "GET")
    for value in ("Bearer not-a-jwt", "Bearer a.b.c", "Basic abc", "Bearer"):
        _assert_error_body(
            sandbox.http.get(path, headers={"Authorization": value}), 401, path, "GET"
        )
    # a token signed by someone else (same shape, wrong signature)
    login = sandbox.login()
    header, payload, _ = login["accessToken"].split(".")
    forged = f"{header}.{payload}.{base64.urlsafe_b64encode(b'x' * 32).decode().rstrip('=')}"
    _assert_error_body(
        sandbox.http.get(path, headers={"Authorization": f"Bearer {forged}"}), 401, path, "GET"
    )


def test_auth_counters(sandbox):
    before = sandbox.stats()["auth"]
    login = sandbox.login()
    sandbox.http.post("/api/auth/token/refresh", data={"refresh_token": login["refreshToken"]})
    sandbox.http.get("/voice/api/v1/admin/accounts")
    after = sandbox.stats()["auth"]
    assert after["rc_logins"] == before["rc_logins"] + 1
    assert after["exchanges"] == before["exchanges"] + 1
    assert after["refreshes"] == before["refreshes"] + 1
    assert after["unauthorized_401s"] == before["unauthorized_401s"] + 1


def test_secrets_never_shown(sandbox):
    cfg = SandboxConfig(
        client_secret="s3cret-1", jwt="s3cret-2", api_token="s3cret-3", password="s3cret-4"
    )
    text = repr(cfg) + str(cfg)
    assert "s3cret" not in text
    shown = sandbox.http.get("/sandbox/config")
    assert shown.status_code == 200
    for secret in (
        sandbox.config.client_secret,
        sandbox.config.jwt,
        sandbox.config.api_token,
        sandbox.config.password,
    ):
        assert secret.get_secret_value() not in shown.text
    assert "client_secret" not in shown.json()


def test_config_from_environment(monkeypatch):
    monkeypatch.setenv("SANDBOX_PORT", "8123")
    monkeypatch.setenv("SANDBOX_API_TOKEN", "from-env")
    monkeypatch.setenv("SANDBOX_FAULTS__RATE_5XX", "0.25")
    cfg = SandboxConfig.from_env(leads=10)
    assert (cfg.port, cfg.leads, cfg.faults.rate_5xx) == (8123, 10, 0.25)
    assert cfg.api_token.get_secret_value() == "from-env"
    assert SandboxConfig().port == 0  # a plain config never reads the environment
