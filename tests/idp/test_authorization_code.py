"""Authorization code + PKCE end to end: Authlib's client against the login form, tokens and rules."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urljoin

import httpx
import jwt
import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.jose import JsonWebKey
from authlib.jose import jwt as authlib_jwt
from authlib.oidc.core import CodeIDToken

from tests.idp.conftest import PASSWORD, IdpServer
from tests.oauth_flow import authorize_code, parse_forms, pkce_pair

CALLBACK = "http://localhost:3000/callback"
UNICORNS = "https://unicorns-api"
STREAMING = "https://StreamingResourceServer"


def drive_login(
    http: httpx.Client, url: str, username: str, password: str, connection: str | None = None
) -> str:
    """Follow /authorize to the login form, submit it, return the callback URL (with code)."""
    r = http.get(url)
    while r.is_redirect and not r.headers["location"].startswith(CALLBACK):
        r = http.get(urljoin(str(r.url), r.headers["location"]))
    if r.is_redirect:
        return str(r.headers["location"])
    form = next(f for f in parse_forms(r.text) if "password" in f.fields)
    data = {**form.fields, "username": username, "password": password}
    if connection:
        data["connection"] = connection
    r = http.post(urljoin(str(r.url), form.action), data=data)
    assert r.status_code == 302, r.text
    return str(r.headers["location"])


def authlib_login(
    idp: IdpServer,
    username: str,
    *,
    scope: str,
    audience: str | None = UNICORNS,
    connection: str | None = None,
) -> tuple[OAuth2Client, dict[str, Any], str]:
    client = OAuth2Client(
        "demo-spa",
        redirect_uri=CALLBACK,
        scope=scope,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(8)
    extra = {"nonce": nonce}
    if audience:
        extra["audience"] = audience
    if connection:
        extra["connection"] = connection
    uri, _state = client.create_authorization_url(idp.url + "/authorize", code_verifier=verifier, **extra)
    with httpx.Client() as browser:
        callback = drive_login(browser, uri, username, PASSWORD, connection)
    token = client.fetch_token(
        idp.url + "/oauth/token", authorization_response=callback, code_verifier=verifier
    )
    return client, dict(token), nonce


def claims_of(token: str) -> dict[str, Any]:
    out: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return out


def test_authlib_code_pkce_refresh_and_id_token(idp: IdpServer) -> None:
    client, token, nonce = authlib_login(
        idp, "trainer@example.com", scope="openid profile email offline_access read:unicorn list:unicorns"
    )
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "openid profile email offline_access read:unicorn list:unicorns"
    assert token["refresh_token"]
    # ID token, checked by Authlib's OIDC claims rules against the JWKS
    jwks = JsonWebKey.import_key_set(httpx.get(idp.url + "/.well-known/jwks.json").json())
    id_claims = authlib_jwt.decode(
        token["id_token"],
        jwks,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"value": idp.issuer}},
        claims_params={"nonce": nonce, "client_id": "demo-spa"},
    )
    id_claims.validate(leeway=5)
    assert id_claims["aud"] == "demo-spa"
    assert id_claims["email"] == "trainer@example.com"
    assert id_claims["email_verified"] is True
    assert id_claims["name"] == "Unicorn Trainer"
    assert isinstance(id_claims["auth_time"], int)
    # access token verified by PyJWT from the JWKS URL
    key = jwt.PyJWKClient(idp.url + "/.well-known/jwks.json").get_signing_key_from_jwt(token["access_token"])
    access = jwt.decode(
        token["access_token"], key.key, algorithms=["RS256"], audience=UNICORNS, issuer=idp.issuer
    )
    assert access["aud"] == [UNICORNS, idp.issuer + "userinfo"]
    assert access["azp"] == "demo-spa"
    assert access["sub"] == id_claims["sub"]
    assert "gty" not in access
    # userinfo with the access token: GET header, POST header, POST body
    for response in (
        httpx.get(idp.url + "/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}),
        httpx.post(idp.url + "/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}),
        httpx.post(idp.url + "/userinfo", data={"access_token": token["access_token"]}),
    ):
        assert response.status_code == 200, response.text
        assert response.json()["sub"] == access["sub"]
        assert response.json()["email"] == "trainer@example.com"
    # refresh through Authlib: new access token, new refresh token (rotation), new ID token
    old_refresh = token["refresh_token"]
    refreshed = client.refresh_token(idp.url + "/oauth/token", refresh_token=old_refresh)
    assert refreshed["refresh_token"] != old_refresh
    assert refreshed["id_token"]
    assert claims_of(refreshed["id_token"])["sub"] == id_claims["sub"]
    assert refreshed["scope"] == token["scope"]


def test_userinfo_rejects_garbage(idp: IdpServer) -> None:
    r = httpx.get(idp.url + "/userinfo", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    assert httpx.get(idp.url + "/userinfo").status_code == 401


@pytest.mark.parametrize(
    ("user", "granted", "permissions"),
    [
        pytest.param(
            "trainer@example.com",
            "read:unicorn list:unicorns",
            ["list:unicorns", "read:unicorn"],
            id="trainer-gets-both",
        ),
        pytest.param("rider@example.com", "read:unicorn", ["read:unicorn"], id="rider-gets-read-only"),
        pytest.param("movie-fan@example.com", "", [], id="no-role-gets-nothing"),
    ],
)
def test_scope_intersection_by_role(idp: IdpServer, user: str, granted: str, permissions: list[str]) -> None:
    connection = "amazon" if user.startswith("movie") else None
    _client, token, _ = authlib_login(
        idp, user, scope="read:unicorn list:unicorns delete:unicorns", connection=connection
    )
    access = claims_of(token["access_token"])
    assert access["scope"] == granted
    assert access["permissions"] == permissions
    assert access["aud"] == UNICORNS  # no openid: a single audience


@pytest.mark.parametrize(
    ("user", "connection", "scope"),
    [
        pytest.param("movie-fan@example.com", "amazon", "read:Movies", id="amazon-reads-movies"),
        pytest.param("device-fan@example.com", "google", "read:Devices", id="google-reads-devices"),
        pytest.param("rider@example.com", None, "", id="database-gets-nothing"),
    ],
)
def test_post_login_hook_scopes_for_streaming(
    idp: IdpServer, user: str, connection: str | None, scope: str
) -> None:
    _client, token, _ = authlib_login(
        idp, user, scope="read:Movies read:Devices", audience=STREAMING, connection=connection
    )
    assert token["scope"] == scope
    header = jwt.get_unverified_header(token["access_token"])
    assert header["alg"] == "HS256"
    claims = jwt.decode(
        token["access_token"],
        "demo-streaming-signing-secret-0123456789abcdef",
        algorithms=["HS256"],
        audience=STREAMING,
        issuer=idp.issuer,
    )
    assert claims["scope"] == scope


def _code(idp: IdpServer, challenge: str | None, scope: str = "openid offline_access read:unicorn") -> str:
    with httpx.Client() as browser:
        query = authorize_code(
            browser,
            idp.url,
            client_id="demo-spa",
            redirect_uri=CALLBACK,
            username="rider@example.com",
            password=PASSWORD,
            audience=UNICORNS,
            scope=scope,
            code_challenge=challenge,
        )
    return query["code"][0]


def _exchange(
    idp: IdpServer, code: str, verifier: str | None, redirect_uri: str | None = CALLBACK
) -> httpx.Response:
    """The code grant; ``None`` leaves a parameter out."""
    data = {"grant_type": "authorization_code", "client_id": "demo-spa", "code": code}
    if redirect_uri is not None:
        data["redirect_uri"] = redirect_uri
    if verifier is not None:
        data["code_verifier"] = verifier
    return httpx.post(idp.url + "/oauth/token", data=data)


def test_code_replay_fails_and_revokes_what_it_issued(idp: IdpServer) -> None:
    verifier, challenge = pkce_pair()
    code = _code(idp, challenge)
    first = _exchange(idp, code, verifier)
    assert first.status_code == 200, first.text
    second = _exchange(idp, code, verifier)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    # the refresh token and the access token from the first redemption are revoked
    refresh = httpx.post(
        idp.url + "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "demo-spa",
            "refresh_token": first.json()["refresh_token"],
        },
    )
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"
    userinfo = httpx.get(
        idp.url + "/userinfo", headers={"Authorization": f"Bearer {first.json()['access_token']}"}
    )
    assert userinfo.status_code == 401


@pytest.mark.parametrize(
    "verifier",
    [
        pytest.param(None, id="missing"),
        pytest.param("x" * 43, id="wrong"),
        pytest.param("short", id="too-short"),
        pytest.param("a" * 129, id="too-long"),
        pytest.param("a" * 42 + "!", id="bad-charset"),
    ],
)
def test_pkce_failure_burns_the_code(idp: IdpServer, verifier: str | None) -> None:
    good, challenge = pkce_pair()
    code = _code(idp, challenge)
    bad = _exchange(idp, code, verifier)
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_grant"
    again = _exchange(idp, code, good)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_redirect_uri_must_match_at_token_endpoint(idp: IdpServer) -> None:
    verifier, challenge = pkce_pair()
    code = _code(idp, challenge)
    r = _exchange(idp, code, verifier, redirect_uri="http://localhost:3000")
    assert r.json()["error"] == "invalid_grant"


def test_refresh_rotation_and_reuse_revokes_family(idp: IdpServer) -> None:
    verifier, challenge = pkce_pair()
    first = _exchange(idp, _code(idp, challenge), verifier).json()
    rt1 = first["refresh_token"]

    def refresh(rt: str) -> httpx.Response:
        return httpx.post(
            idp.url + "/oauth/token",
            data={"grant_type": "refresh_token", "client_id": "demo-spa", "refresh_token": rt},
        )

    r2 = refresh(rt1)
    assert r2.status_code == 200, r2.text
    rt2 = r2.json()["refresh_token"]
    assert rt2 != rt1
    assert "id_token" in r2.json()
    reuse = refresh(rt1)
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    # the whole family is gone, including the newest token
    assert refresh(rt2).json()["error"] == "invalid_grant"


def test_refresh_scope_may_narrow_not_widen(idp: IdpServer) -> None:
    verifier, challenge = pkce_pair()
    rt = _exchange(idp, _code(idp, challenge), verifier).json()["refresh_token"]
    wide = httpx.post(
        idp.url + "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "demo-spa",
            "refresh_token": rt,
            "scope": "openid read:unicorn list:unicorns",
        },
    )
    assert wide.json()["error"] == "invalid_scope"


def test_revoke_refresh_token_rfc7009(idp: IdpServer) -> None:
    verifier, challenge = pkce_pair()
    rt = _exchange(idp, _code(idp, challenge), verifier).json()["refresh_token"]
    r = httpx.post(
        idp.url + "/oauth/revoke",
        data={"client_id": "demo-spa", "token": rt, "token_type_hint": "refresh_token"},
    )
    assert r.status_code == 200
    assert (
        httpx.post(idp.url + "/oauth/revoke", data={"client_id": "demo-spa", "token": "unknown"}).status_code
        == 200
    )
    again = httpx.post(
        idp.url + "/oauth/token",
        data={"grant_type": "refresh_token", "client_id": "demo-spa", "refresh_token": rt},
    )
    assert again.json()["error"] == "invalid_grant"


def test_no_offline_access_no_refresh_token(idp: IdpServer) -> None:
    verifier, challenge = pkce_pair()
    body = _exchange(idp, _code(idp, challenge, scope="openid read:unicorn"), verifier).json()
    assert "refresh_token" not in body
    assert body["scope"] == "openid read:unicorn"


def test_authlib_reports_invalid_grant_for_bad_code(idp: IdpServer) -> None:
    client = OAuth2Client("demo-spa", redirect_uri=CALLBACK, token_endpoint_auth_method="none")
    with pytest.raises(OAuthError) as info:
        client.fetch_token(idp.url + "/oauth/token", code="nope", code_verifier="a" * 43)
    assert info.value.error == "invalid_grant"


@pytest.mark.parametrize(
    ("offset", "ok"),
    [
        pytest.param(60, True, id="fresh"),
        pytest.param(1296000 + 1, False, id="idle-lifetime-exceeded"),
    ],
)
def test_refresh_idle_lifetime(idp: IdpServer, offset: int, ok: bool) -> None:
    """The token rules take `now`; the service is driven directly to step past the idle lifetime."""
    import time

    from gatehold.idp.errors import InvalidGrant

    verifier, challenge = pkce_pair()
    rt = _exchange(idp, _code(idp, challenge), verifier).json()["refresh_token"]
    later = int(time.time()) + offset
    if ok:
        assert idp.provider.refresh("demo-spa", rt, None, now=later)["refresh_token"]
    else:
        with pytest.raises(InvalidGrant):
            idp.provider.refresh("demo-spa", rt, None, now=later)


def test_refresh_absolute_lifetime(idp: IdpServer) -> None:
    """Each rotation renews the idle window but never the family's absolute expiry (30 days)."""
    import time

    from gatehold.idp.errors import InvalidGrant

    verifier, challenge = pkce_pair()
    rt = _exchange(idp, _code(idp, challenge), verifier).json()["refresh_token"]
    now = int(time.time())
    for day in (10, 20, 29):  # inside the idle window each time
        rt = idp.provider.refresh("demo-spa", rt, None, now=now + day * 86400)["refresh_token"]
    with pytest.raises(InvalidGrant):
        idp.provider.refresh("demo-spa", rt, None, now=now + 2592000 + 1)


def test_redirect_uri_required_at_token_endpoint_when_sent_to_authorize(idp: IdpServer) -> None:
    verifier, challenge = pkce_pair()
    code = _code(idp, challenge)
    r = _exchange(idp, code, verifier, redirect_uri=None)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"
