"""Client credentials and the token endpoint's client authentication, with Authlib and PyJWT."""

from __future__ import annotations

import base64

import httpx
import jwt
import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2Client

from tests.idp.conftest import M2M_SECRET, SPA, IdpServer

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


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"grant_type=client_credentials&audience=https%3A%2F%2Funicorns-api", id="plain"),
        pytest.param(b"scope=read%3Aunicorn+list%3Aunicorns", id="plus-is-space"),
        pytest.param(b"a=1&&b=2&", id="empty-chunks-skipped"),
        pytest.param(b"flag&x=", id="no-equals-is-blank"),
        pytest.param(b"=v", id="empty-name"),
        pytest.param(b"x=a=b", id="first-equals-splits"),
        pytest.param(b"n%C3%A4me=v%C3%A4lue", id="utf8-escapes"),
        pytest.param(b"x=%ZZ%", id="bad-escape-kept"),
        pytest.param(b"x=%FF", id="invalid-utf8-replaced"),
        pytest.param(b"x=caf\xe9", id="raw-latin1-byte"),
    ],
)
def test_form_body_reads_as_parse_qsl(body: bytes) -> None:
    """The token endpoint's form reader = ``parse_qsl(keep_blank_values=True)`` on the latin-1 text,
    which is also what Starlette's form parser produced (names and values through unquote_plus)."""
    from urllib.parse import parse_qsl

    from gatehold.idp.rfc6749_token import parse_params

    expected = dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    assert parse_params("application/x-www-form-urlencoded; charset=UTF-8", body) == expected


@pytest.mark.parametrize(
    ("content", "headers", "description"),
    [
        pytest.param(
            b"grant_type=client_credentials&audience=a&audience=b",
            {"Content-Type": "application/x-www-form-urlencoded"},
            "parameter 'audience' is repeated (RFC 6749 §3.2)",
            id="repeated-parameter",
        ),
        pytest.param(
            b"grant_type=client_credentials",
            {"Content-Type": "text/plain"},
            "the body must be application/x-www-form-urlencoded or application/json",
            id="wrong-content-type",
        ),
        pytest.param(b"grant_type=client_credentials", {}, "missing grant_type", id="no-content-type"),
        pytest.param(
            b"x" * (64 * 1024 + 1),
            {"Content-Type": "application/x-www-form-urlencoded"},
            "request body too large",
            id="body-too-large",
        ),
        pytest.param(
            b"[1]", {"Content-Type": "application/json"}, "the JSON body must be an object", id="json-array"
        ),
    ],
)
def test_malformed_bodies(idp: IdpServer, content: bytes, headers: dict[str, str], description: str) -> None:
    r = httpx.post(idp.url + "/oauth/token", content=content, headers=headers, auth=("demo-m2m", M2M_SECRET))
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_request", "error_description": description}
    assert r.headers["cache-control"] == "no-store"


def test_rs256_header_is_pyjwts(idp: IdpServer) -> None:
    """The compact serialisation's header is byte-for-byte what ``jwt.encode`` writes with the kid."""
    r = httpx.post(
        idp.url + "/oauth/token",
        data={"grant_type": "client_credentials", "audience": UNICORNS},
        auth=("demo-m2m", M2M_SECRET),
    )
    token = r.json()["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    reference = jwt.encode({}, idp.provider.keys.current.private_key, algorithm="RS256", headers={"kid": kid})
    assert token.split(".")[0] == reference.split(".")[0]
    assert verify(idp, token, UNICORNS)["jti"]


def test_token_endpoint_methods(idp: IdpServer) -> None:
    """Only POST is routed to the endpoint; GET gets the router's 405."""
    assert httpx.get(idp.url + "/oauth/token").status_code == 405


@pytest.mark.parametrize(
    ("origin", "secret", "status", "allow"),
    [
        pytest.param(SPA, M2M_SECRET, 200, SPA, id="allowed-origin"),
        pytest.param(SPA, "wrong", 401, SPA, id="allowed-origin-error"),
        pytest.param("https://evil.example", M2M_SECRET, 200, None, id="other-origin"),
        pytest.param(None, M2M_SECRET, 200, None, id="no-origin"),
    ],
)
def test_cors_on_token_responses(
    idp: IdpServer, origin: str | None, secret: str, status: int, allow: str | None
) -> None:
    """Token responses and errors carry CORS (echoed origin, ``Vary: Origin``) and no-store."""
    r = httpx.post(
        idp.url + "/oauth/token",
        data={"grant_type": "client_credentials", "audience": UNICORNS},
        auth=("demo-m2m", secret),
        headers={"Origin": origin} if origin else {},
    )
    assert r.status_code == status
    assert r.headers.get("access-control-allow-origin") == allow
    assert r.headers["vary"] == "Origin"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["pragma"] == "no-cache"


STREAMING = "https://StreamingResourceServer"
BASIC_CHALLENGE = 'Basic realm="gatehold"'
AUTH_FAILED = {"error": "invalid_client", "error_description": "client authentication failed"}


@pytest.mark.parametrize(
    ("kwargs", "status", "body", "challenge"),
    [
        pytest.param({"auth": ("demo-m2m", "wrong")}, 401, AUTH_FAILED, True, id="wrong-secret-basic"),
        pytest.param(
            {"data": {"client_id": "demo-m2m", "client_secret": "wrong"}},
            401,
            AUTH_FAILED,
            False,
            id="wrong-secret-post",
        ),
        pytest.param(
            {"data": {"client_id": "demo-m2m", "client_secret": M2M_SECRET + "x"}},
            401,
            AUTH_FAILED,
            False,
            id="secret-with-a-suffix",
        ),
        pytest.param({"auth": ("nobody", M2M_SECRET)}, 401, AUTH_FAILED, True, id="unknown-client-basic"),
        pytest.param(
            {"data": {"client_id": "nobody", "client_secret": M2M_SECRET}},
            401,
            AUTH_FAILED,
            False,
            id="unknown-client-post",
        ),
        pytest.param({"data": {"client_id": "demo-m2m"}}, 401, AUTH_FAILED, False, id="no-secret"),
        pytest.param({}, 401, AUTH_FAILED, False, id="no-client"),
        pytest.param(
            {"data": {"client_id": "demo-spa", "client_secret": "x"}},
            401,
            AUTH_FAILED,
            False,
            id="secret-for-a-public-client",
        ),
        pytest.param(
            {"data": {"client_id": "demo-spa"}},
            403,
            {
                "error": "unauthorized_client",
                "error_description": "the client may not use the client_credentials grant",
            },
            False,
            id="public-client",
        ),
        pytest.param(
            {"auth": ("demo-m2m", M2M_SECRET), "data": {"audience": ""}},
            403,
            {
                "error": "access_denied",
                "error_description": "no audience: pass the API identifier as 'audience'",
            },
            False,
            id="no-audience",
        ),
        pytest.param(
            {"auth": ("demo-m2m", M2M_SECRET), "data": {"audience": "https://nowhere"}},
            403,
            {"error": "access_denied", "error_description": "Service not found: https://nowhere"},
            False,
            id="unknown-audience",
        ),
        pytest.param(
            {"auth": ("demo-m2m", M2M_SECRET), "data": {"audience": STREAMING}},
            403,
            {
                "error": "access_denied",
                "error_description": f"Client is not authorized to access {STREAMING!r}.",
            },
            False,
            id="ungranted-audience",
        ),
        pytest.param(
            {"auth": ("demo-m2m", M2M_SECRET), "data": {"resource": PETSTORE}},
            400,
            {"error": "invalid_request", "error_description": "audience and resource name different APIs"},
            False,
            id="audience-and-resource-differ",
        ),
    ],
)
def test_client_credentials_refusals_exactly(
    idp: IdpServer, kwargs: dict[str, object], status: int, body: dict[str, str], challenge: bool
) -> None:
    """Every refusal's status, body and headers, as Auth0's wording (the fast path must not change them)."""
    data = {"grant_type": "client_credentials", "audience": UNICORNS}
    data.update(kwargs.pop("data", {}))  # type: ignore[arg-type]
    r = httpx.post(idp.url + "/oauth/token", data=data, **kwargs)  # type: ignore[arg-type]
    assert (r.status_code, r.json()) == (status, body)
    assert r.headers.get("www-authenticate") == (BASIC_CHALLENGE if challenge else None)
    assert (r.headers["cache-control"], r.headers["pragma"]) == ("no-store", "no-cache")
    assert r.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("audience", "scope", "granted", "permissions"),
    [
        pytest.param(
            UNICORNS, None, "read:unicorn list:unicorns", ["read:unicorn", "list:unicorns"], id="rbac"
        ),
        pytest.param(UNICORNS, "list:unicorns", "list:unicorns", ["list:unicorns"], id="rbac-subset"),
        pytest.param(UNICORNS, "nothing:granted", "", [], id="rbac-nothing-granted"),
        pytest.param(PETSTORE, "read:pets read:pets", "read:pets", None, id="no-rbac-repeated-scope"),
        pytest.param("https://auth0-jwt-authorizer", None, "", None, id="empty-grant"),
    ],
)
def test_client_credentials_token_exactly(
    idp: IdpServer, audience: str, scope: str | None, granted: str, permissions: list[str] | None
) -> None:
    """The whole response and every claim of the access token, in Auth0's order."""
    data = {"grant_type": "client_credentials", "audience": audience, **({"scope": scope} if scope else {})}
    first, second = (
        httpx.post(idp.url + "/oauth/token", data=data, auth=("demo-m2m", M2M_SECRET)) for _ in range(2)
    )
    body = first.json()
    assert list(body) == ["access_token", "token_type", "expires_in", "scope"]
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 86400, granted)
    assert first.headers["content-length"] == str(len(first.content))
    claims = verify(idp, body["access_token"], audience)
    expected: dict[str, object] = {
        "iss": idp.issuer,
        "sub": "demo-m2m@clients",
        "aud": audience,
        "iat": claims["iat"],
        "exp": claims["iat"] + 86400,  # type: ignore[operator]
        "azp": "demo-m2m",
        "scope": granted,
        "jti": claims["jti"],
        "gty": "client-credentials",
    }
    if permissions is not None:
        expected["permissions"] = permissions
    assert list(claims.items()) == list(expected.items())
    assert len(str(claims["jti"])) == 22  # 132 random bits, base64url
    assert verify(idp, second.json()["access_token"], audience)["jti"] != claims["jti"]
