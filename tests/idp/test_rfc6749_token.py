"""Client credentials and the token endpoint's client authentication, with Authlib and PyJWT."""

from __future__ import annotations

import base64

import httpx
import jwt
import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2Client

from tests.idp.conftest import M2M_SECRET, IdpServer

UNICORNS = "https://unicorns-api"
PETSTORE = "https://your-api-gateway"


def verify(idp: IdpServer, token: str, audience: str) -> dict[str, object]:
    jwks = jwt.PyJWKClient(idp.url + "/.well-known/jwks.json")
    key = jwks.get_signing_key_from_jwt(token)
    claims: dict[str, object] = jwt.decode(
        token, key.key, algorithms=["RS256"], audience=audience, issuer=idp.issuer
    )
    return claims


def test_authlib_client_credentials_verified_with_pyjwkclient(idp: IdpServer) -> None:
    with OAuth2Client("demo-m2m", M2M_SECRET) as client:
        token = client.fetch_token(
            idp.url + "/oauth/token", grant_type="client_credentials", audience=UNICORNS
        )
    assert token["token_type"] == "Bearer"
    assert isinstance(token["expires_in"], int)
    assert token["scope"] == "read:unicorn list:unicorns"
    claims = verify(idp, token["access_token"], UNICORNS)
    assert claims["sub"] == "demo-m2m@clients"
    assert claims["azp"] == "demo-m2m"
    assert claims["gty"] == "client-credentials"
    assert claims["iss"] == idp.issuer
    assert claims["aud"] == UNICORNS
    assert claims["permissions"] == ["read:unicorn", "list:unicorns"]  # RBAC + access_token_authz
    assert set(claims) >= {"iss", "sub", "aud", "azp", "scope", "iat", "exp"}
    header = jwt.get_unverified_header(token["access_token"])
    assert header["alg"] == "RS256"
    assert header["kid"]


async def test_async_authlib_client_secret_post(idp: IdpServer) -> None:
    async with AsyncOAuth2Client(
        "demo-m2m", M2M_SECRET, token_endpoint_auth_method="client_secret_post"
    ) as client:
        token = await client.fetch_token(
            idp.url + "/oauth/token", grant_type="client_credentials", audience=PETSTORE, scope="read:pets"
        )
    assert token["scope"] == "read:pets"
    claims = verify(idp, token["access_token"], PETSTORE)
    assert "permissions" not in claims


@pytest.mark.parametrize(
    ("audience", "scope", "granted"),
    [
        pytest.param(UNICORNS, None, "read:unicorn list:unicorns", id="no-scope-gets-whole-grant"),
        pytest.param(UNICORNS, "list:unicorns", "list:unicorns", id="subset"),
        pytest.param(UNICORNS, "list:unicorns delete:unicorns", "list:unicorns", id="intersection"),
        pytest.param("https://auth0-jwt-authorizer", None, "", id="empty-grant"),
        pytest.param(PETSTORE, "write:pets read:pets", "write:pets read:pets", id="order-kept"),
    ],
)
def test_client_grant_limits_scope(idp: IdpServer, audience: str, scope: str | None, granted: str) -> None:
    data = {"grant_type": "client_credentials", "audience": audience}
    if scope:
        data["scope"] = scope
    r = httpx.post(idp.url + "/oauth/token", data=data, auth=("demo-m2m", M2M_SECRET))
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == granted
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-type"].startswith("application/json")
    assert jwt.decode(r.json()["access_token"], options={"verify_signature": False})["scope"] == granted


@pytest.mark.parametrize(
    ("kwargs", "status", "error"),
    [
        pytest.param({"auth": ("demo-m2m", "wrong-secret")}, 401, "invalid_client", id="wrong-secret-basic"),
        pytest.param(
            {"data": {"client_id": "demo-m2m", "client_secret": "nope"}},
            401,
            "invalid_client",
            id="wrong-secret-post",
        ),
        pytest.param({"auth": ("nobody", "x")}, 401, "invalid_client", id="unknown-client"),
        pytest.param(
            {"data": {"client_id": "demo-m2m"}}, 401, "invalid_client", id="confidential-without-secret"
        ),
        pytest.param(
            {"auth": ("demo-m2m", M2M_SECRET), "data": {"audience": "https://StreamingResourceServer"}},
            403,
            "access_denied",
            id="ungranted-audience",
        ),
        pytest.param(
            {"auth": ("demo-m2m", M2M_SECRET), "data": {"audience": "https://nowhere"}},
            403,
            "access_denied",
            id="unknown-audience",
        ),
        pytest.param(
            {"data": {"client_id": "demo-spa", "audience": UNICORNS}},
            403,
            "unauthorized_client",
            id="spa-no-cc",
        ),
    ],
)
def test_client_credentials_errors(
    idp: IdpServer, kwargs: dict[str, object], status: int, error: str
) -> None:
    data = {"grant_type": "client_credentials", "audience": UNICORNS}
    data.update(kwargs.pop("data", {}))  # type: ignore[arg-type]
    r = httpx.post(idp.url + "/oauth/token", data=data, **kwargs)  # type: ignore[arg-type]
    assert r.status_code == status, r.text
    assert r.json()["error"] == error
    if status == 401 and "auth" in kwargs:
        assert r.headers["www-authenticate"].startswith("Basic")


def test_authlib_raises_on_wrong_secret(idp: IdpServer) -> None:
    with OAuth2Client("demo-m2m", "wrong") as client, pytest.raises(OAuthError) as info:
        client.fetch_token(idp.url + "/oauth/token", grant_type="client_credentials", audience=UNICORNS)
    assert info.value.error == "invalid_client"


def test_json_body(idp: IdpServer) -> None:
    r = httpx.post(
        idp.url + "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": "demo-m2m",
            "client_secret": M2M_SECRET,
            "audience": UNICORNS,
        },
    )
    assert r.status_code == 200, r.text


def test_resource_parameter_rfc8707(idp: IdpServer) -> None:
    r = httpx.post(
        idp.url + "/oauth/token",
        data={"grant_type": "client_credentials", "resource": PETSTORE},
        auth=("demo-m2m", M2M_SECRET),
    )
    assert r.status_code == 200, r.text
    assert jwt.decode(r.json()["access_token"], options={"verify_signature": False})["aud"] == PETSTORE


@pytest.mark.parametrize(
    ("grant_type", "error"),
    [
        pytest.param("password", "unsupported_grant_type", id="password-grant-refused"),
        pytest.param("urn:ietf:params:oauth:grant-type:device_code", "unsupported_grant_type", id="device"),
        pytest.param("", "invalid_request", id="missing"),
    ],
)
def test_unsupported_grants(idp: IdpServer, grant_type: str, error: str) -> None:
    r = httpx.post(
        idp.url + "/oauth/token",
        data={"grant_type": grant_type, "username": "rider@example.com", "password": "x"},
        auth=("demo-m2m", M2M_SECRET),
    )
    assert r.status_code == 400
    assert r.json()["error"] == error


def test_basic_with_empty_secret_identifies_public_client(idp: IdpServer) -> None:
    """requests-oauthlib sends Basic base64(client_id:) for public clients."""
    basic = base64.b64encode(b"demo-spa:").decode()
    r = httpx.post(
        idp.url + "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": "not-a-code",
            "redirect_uri": "http://localhost:3000",
        },
        headers={"Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"  # authenticated as demo-spa, then the code is refused


def test_cors_preflight_and_response(idp: IdpServer) -> None:
    pre = httpx.options(
        idp.url + "/oauth/token",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "auth0-client, content-type",
        },
    )
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "Auth0-Client" in pre.headers["access-control-allow-headers"]
    assert "DPoP" in pre.headers["access-control-allow-headers"]
    r = httpx.post(
        idp.url + "/oauth/token",
        data={"grant_type": "client_credentials", "audience": UNICORNS},
        auth=("demo-m2m", M2M_SECRET),
        headers={"Origin": "http://localhost:3000"},
    )
    assert r.headers["access-control-allow-origin"] == "http://localhost:3000"
    evil = httpx.options(
        idp.url + "/oauth/token",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in evil.headers


def test_issuance_is_counted_by_grant(idp: IdpServer) -> None:
    from gatehold.metrics import REGISTRY

    def issued() -> float:
        value = REGISTRY.get_sample_value(
            "gatehold_idp_tokens_issued_total", {"grant_type": "client_credentials"}
        )
        return value or 0.0

    before = issued()
    for _ in range(2):
        resp = httpx.post(
            idp.url + "/oauth/token",
            data={"grant_type": "client_credentials", "audience": UNICORNS},
            auth=("demo-m2m", M2M_SECRET),
        )
        assert resp.status_code == 200
    refused = httpx.post(
        idp.url + "/oauth/token",
        data={"grant_type": "client_credentials", "audience": UNICORNS},
        auth=("demo-m2m", "wrong"),
    )
    assert refused.status_code == 401
    assert issued() == before + 2
