"""JWT authorizers: HTTP API (docs/aws-reference.md §3.1-§3.3) and REST (issuers, algorithms, required
claims), against a real discovery + JWKS server on loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gatehold.config.loader import ConfigError
from gatehold.gateway.access_log import RecordContext, RequestRecord
from gatehold.gateway.events import proxy_event_v1
from gatehold.gateway.model import GatewayRequest
from tests.authorizers.conftest import Harness
from tests.jose.hostile import HOSTILE
from tests.jose.support import FakeIssuer, SigningKey, claims_for

AUD = "https://unicorns-api"
UNAUTHORIZED = b'{"message":"Unauthorized"}'
FORBIDDEN = b'{"message":"Forbidden"}'


def http_jwt_yaml(issuer: str, extra: str = "") -> str:
    return f"""
functions:
  backend: {{handler: tests.authorizers.handlers.backend}}
apis:
  unicorns:
    type: HTTP
    authorizers:
      auth0:
        type: JWT
        identity_source: $request.header.Authorization
        jwt_configuration: {{issuer: "{issuer}", audience: ["{AUD}", "second-aud"]}}
{extra}    routes:
      GET /unicorn:
        integration: {{type: lambda, function: backend}}
        authorizer: auth0
        authorization_scopes: [read:unicorn]
      GET /unicorns:
        integration: {{type: lambda, function: backend}}
        authorizer: auth0
        authorization_scopes: [list:unicorns, admin]
      POST /wish:
        integration: {{type: lambda, function: backend}}
        authorizer: auth0
"""


def invalid(description: str) -> str:
    return f'Bearer scope="" error="invalid_token" error_description="{description}"'


@pytest.fixture
def h(harness_factory: Callable[..., Harness], issuer: FakeIssuer) -> Harness:
    return harness_factory(http_jwt_yaml(issuer.issuer))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_valid_token_claims_and_scopes(h: Harness, issuer: FakeIssuer) -> None:
    token = issuer.token(claims_for(issuer.issuer, AUD, scope="openid read:unicorn"))
    result = await h.call("unicorns", "GET", "/unicorn", bearer(token))
    assert result.status == 200
    assert result.outcome is not None
    assert result.outcome.kind == "jwt"
    assert result.outcome.claims is not None
    assert result.outcome.claims["sub"] == "auth0|user-1"
    assert result.outcome.scopes == ["openid", "read:unicorn"]
    assert (result.step["outcome"], result.step["cache"]) == ("allow", "miss")
    again = await h.call("unicorns", "GET", "/unicorn", bearer(token))
    assert again.step["cache"] == "hit"


async def test_route_without_scopes_gives_null_scopes_and_bare_token_works(
    h: Harness, issuer: FakeIssuer
) -> None:
    token = issuer.token(claims_for(issuer.issuer, "second-aud"))
    result = await h.call("unicorns", "POST", "/wish", {"Authorization": token})  # no "Bearer " prefix
    assert result.status == 200
    assert result.outcome is not None
    assert result.outcome.scopes is None


@pytest.mark.parametrize(
    ("claims", "route", "status", "www_authenticate"),
    [
        pytest.param(
            {"scope": "read:unicorn"},
            "/unicorns",
            403,
            'Bearer scope="list:unicorns admin" error="insufficient_scope" '
            'error_description="the token does not have the required scopes"',
            id="scope-missing",
        ),
        pytest.param({"scope": "read:unicornx"}, "/unicorn", 403, None, id="scope-is-not-a-prefix"),
        pytest.param({"scope": "admin"}, "/unicorns", 200, None, id="scope-any-of"),
        pytest.param({"scp": ["list:unicorns"]}, "/unicorns", 200, None, id="scp-list"),
        pytest.param({"scp": "x list:unicorns"}, "/unicorns", 200, None, id="scp-string"),
        pytest.param(
            {"permissions": ["list:unicorns"]}, "/unicorns", 403, None, id="permissions-is-not-scope"
        ),
        pytest.param(
            {"aud": "other"}, "/wish", 401, invalid("the token does not have a valid audience"), id="audience"
        ),
        pytest.param({"aud": None, "client_id": AUD}, "/wish", 200, None, id="client_id-without-aud"),
        pytest.param(
            {"iss": "https://evil.example/"},
            "/wish",
            401,
            invalid("the token does not have a valid issuer"),
            id="issuer",
        ),
        pytest.param({"exp": 1}, "/wish", 401, invalid("the token has expired"), id="expired"),
        pytest.param({"nbf": 4_000_000_000}, "/wish", 401, invalid("the token is not valid yet"), id="nbf"),
        pytest.param(
            {"iat": 4_000_000_000}, "/wish", 401, invalid("the token was issued in the future"), id="iat"
        ),
    ],
)
async def test_checks_and_failure_bodies(
    h: Harness,
    issuer: FakeIssuer,
    claims: dict[str, Any],
    route: str,
    status: int,
    www_authenticate: str | None,
) -> None:
    body = {k: v for k, v in (claims_for(issuer.issuer, AUD) | claims).items() if v is not None}
    method = "POST" if route == "/wish" else "GET"
    result = await h.call("unicorns", method, route, bearer(issuer.token(body)))
    assert result.status == status
    if status != 200:
        assert result.body == (UNAUTHORIZED if status == 401 else FORBIDDEN)
        assert "apigw-requestid" in result.headers
    if www_authenticate is not None:
        assert result.headers["www-authenticate"] == www_authenticate


async def test_missing_token(h: Harness) -> None:
    result = await h.call("unicorns", "POST", "/wish")
    assert (result.status, result.body) == (401, UNAUTHORIZED)
    assert result.step["check"] == "identity"


@pytest.mark.parametrize(
    ("description", "reason"),
    [
        ("signature", "the token has an invalid signature"),
        ("kid", "the token's signing key is unknown"),
    ],
)
async def test_signature_and_kid_descriptions(
    h: Harness, issuer: FakeIssuer, rsa_keys: list[rsa.RSAPrivateKey], description: str, reason: str
) -> None:
    forged = SigningKey("k1" if description == "signature" else "nope", rsa_keys[1])
    result = await h.call(
        "unicorns", "POST", "/wish", bearer(issuer.token(claims_for(issuer.issuer, AUD), key=forged))
    )
    assert result.status == 401
    assert result.headers["www-authenticate"] == invalid(reason)
    assert result.step["check"] == description


@pytest.mark.parametrize("make", [pytest.param(make, id=name) for name, make in HOSTILE])
async def test_hostile_tokens_get_401_never_500(
    h: Harness, issuer: FakeIssuer, rsa_keys: list[rsa.RSAPrivateKey], make: Any
) -> None:
    await h.call("unicorns", "POST", "/wish", bearer(issuer.token(claims_for(issuer.issuer, AUD))))
    token = make(issuer, rsa_keys).replace(AUD, AUD)  # same audience as the authorizer's
    result = await h.call("unicorns", "POST", "/wish", bearer(token))
    assert (result.status, result.body) == (401, UNAUTHORIZED)
    assert not [p for p in issuer.requests if not p.startswith("/.well-known/")]


async def test_kid_rotation_while_running(
    harness_factory: Callable[..., Harness], issuer: FakeIssuer, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    h = harness_factory(http_jwt_yaml(issuer.issuer))
    assert (
        await h.call("unicorns", "POST", "/wish", bearer(issuer.token(claims_for(issuer.issuer, AUD))))
    ).status == 200
    new = SigningKey("k2", rsa_keys[1])
    issuer.keys = [new]
    h.clock.advance(11)
    token = issuer.token(claims_for(issuer.issuer, AUD, now=h.clock.now), key=new)
    assert (await h.call("unicorns", "POST", "/wish", bearer(token))).status == 200


async def test_unreachable_issuer_is_401(harness_factory: Callable[..., Harness], issuer: FakeIssuer) -> None:
    h = harness_factory(http_jwt_yaml(issuer.issuer))
    token = issuer.token(claims_for(issuer.issuer, AUD))
    issuer.stop()
    result = await h.call("unicorns", "POST", "/wish", bearer(token))
    assert (result.status, result.body) == (401, UNAUTHORIZED)


def test_http_jwt_refuses_non_rsa_algorithms(harness_factory: Callable[..., Harness]) -> None:
    with pytest.raises(ConfigError, match="only RSA"):
        harness_factory(http_jwt_yaml("https://i.example/", "        allowed_algorithms: [HS256]\n"))


# -- REST JWT authorizer ----------------------------------------------------------------------


def rest_jwt_yaml(a: str, b: str, extra: str = "") -> str:
    return f"""
functions:
  backend: {{handler: tests.authorizers.handlers.backend}}
apis:
  orders:
    type: REST
    stages: {{prod: {{}}}}
    authorizers:
      jwt:
        type: JWT
        issuers:
          - {{issuer: "{a}", audiences: [aud-a]}}
          - {{issuer: "{b}", audiences: [aud-b]}}
{extra}    routes:
      GET /orders:
        integration: {{type: lambda, function: backend}}
        authorizer: jwt
        authorization_scopes: [orders:read]
      POST /orders:
        integration: {{type: lambda, function: backend}}
        authorizer: jwt
        authorization_scopes: [orders:write]
"""


@pytest.fixture
def second_issuer(rsa_keys: list[rsa.RSAPrivateKey]) -> Any:
    server = FakeIssuer(keys=[SigningKey("b1", rsa_keys[2])]).start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("who", "aud", "method", "scope", "status"),
    [
        pytest.param("a", "aud-a", "GET", "orders:read", 200, id="issuer-a"),
        pytest.param("b", "aud-b", "GET", "orders:read", 200, id="issuer-b"),
        pytest.param("b", "aud-a", "GET", "orders:read", 401, id="audience-of-other-issuer"),
        pytest.param("a", "aud-a", "POST", "orders:read", 403, id="per-method-scope"),
        pytest.param("a", "aud-a", "POST", "orders:write", 200, id="write-scope"),
    ],
)
async def test_rest_jwt_issuers_audiences_scopes(
    harness_factory: Callable[..., Harness],
    issuer: FakeIssuer,
    second_issuer: FakeIssuer,
    who: str,
    aud: str,
    method: str,
    scope: str,
    status: int,
) -> None:
    h = harness_factory(rest_jwt_yaml(issuer.issuer, second_issuer.issuer))
    iss = issuer if who == "a" else second_issuer
    token = iss.token(claims_for(iss.issuer, aud, scope=scope))
    result = await h.call("orders", method, "/prod/orders", bearer(token))
    assert result.status == status
    if status == 401:
        assert result.body == UNAUTHORIZED
        assert result.headers["x-amzn-errortype"] == "UnauthorizedException"
    if status == 403:
        assert result.body == FORBIDDEN


async def test_rest_jwt_token_signed_by_other_issuers_key(
    harness_factory: Callable[..., Harness], issuer: FakeIssuer, second_issuer: FakeIssuer
) -> None:
    """iss names issuer A but the token is signed with B's key: keys must belong to the issuer."""
    h = harness_factory(rest_jwt_yaml(issuer.issuer, second_issuer.issuer))
    token = second_issuer.token(claims_for(issuer.issuer, "aud-a", scope="orders:read"))
    assert (await h.call("orders", "GET", "/prod/orders", bearer(token))).status == 401


@pytest.mark.parametrize(
    ("required", "claims", "status"),
    [
        pytest.param("[tenant]", {"tenant": "t1"}, 200, id="list-present"),
        pytest.param("[tenant]", {}, 401, id="list-missing"),
        pytest.param("{tenant: t1}", {"tenant": "t1"}, 200, id="map-equal"),
        pytest.param("{tenant: t1}", {"tenant": "t2"}, 401, id="map-different"),
        pytest.param("{groups: admin}", {"groups": ["x", "admin"]}, 200, id="map-in-list"),
        pytest.param("{tenant: [t1, t2]}", {"tenant": "t2"}, 200, id="map-any-of"),
    ],
)
async def test_rest_jwt_required_claims(
    harness_factory: Callable[..., Harness],
    issuer: FakeIssuer,
    second_issuer: FakeIssuer,
    required: str,
    claims: dict[str, Any],
    status: int,
) -> None:
    h = harness_factory(
        rest_jwt_yaml(issuer.issuer, second_issuer.issuer, f"        required_claims: {required}\n")
    )
    token = issuer.token(claims_for(issuer.issuer, "aud-a", scope="orders:read", **claims))
    assert (await h.call("orders", "GET", "/prod/orders", bearer(token))).status == status


async def test_rest_jwt_allowed_algorithms(
    harness_factory: Callable[..., Harness], issuer: FakeIssuer, second_issuer: FakeIssuer
) -> None:
    h = harness_factory(
        rest_jwt_yaml(issuer.issuer, second_issuer.issuer, "        allowed_algorithms: [PS256]\n")
    )
    # the published JWK says alg RS256, which is not allowed: the key is unusable
    token = issuer.token(claims_for(issuer.issuer, "aud-a", scope="orders:read"))
    assert (await h.call("orders", "GET", "/prod/orders", bearer(token))).status == 401


@pytest.mark.parametrize("alg", ["HS256", "none"])
def test_rest_jwt_refuses_symmetric_or_none(harness_factory: Callable[..., Harness], alg: str) -> None:
    with pytest.raises(ConfigError):
        harness_factory(rest_jwt_yaml("https://a/", "https://b/", f"        allowed_algorithms: [{alg}]\n"))


@pytest.mark.parametrize("alg", ['RS256"\r\nx-injected: 1', 'RS256" error="none', "HS256\n"])
async def test_hostile_alg_never_reaches_the_header(h: Harness, issuer: FakeIssuer, alg: str) -> None:
    from tests.jose.support import segment

    good = issuer.token(claims_for(issuer.issuer, AUD))
    _, payload, signature = good.split(".")
    token = f"{segment({'alg': alg, 'kid': 'k1'})}.{payload}.{signature}"
    result = await h.call("unicorns", "POST", "/wish", bearer(token))
    assert result.status == 401
    value = result.headers["www-authenticate"]
    assert "\r" not in value
    assert "\n" not in value
    assert value.count('"') == 6


async def test_rest_jwt_cache_hit_for_either_issuer(
    harness_factory: Callable[..., Harness], issuer: FakeIssuer, second_issuer: FakeIssuer
) -> None:
    h = harness_factory(rest_jwt_yaml(issuer.issuer, second_issuer.issuer))
    token = second_issuer.token(claims_for(second_issuer.issuer, "aud-b", scope="orders:read"))
    first = await h.call("orders", "GET", "/prod/orders", bearer(token))
    second = await h.call("orders", "GET", "/prod/orders", bearer(token))
    assert (first.step["cache"], second.step["cache"]) == ("miss", "hit")
    write = await h.call("orders", "POST", "/prod/orders", bearer(token))
    assert write.status == 403  # scopes are checked per method even on a cache hit


async def test_cached_token_meets_each_routes_scopes(h: Harness, issuer: FakeIssuer) -> None:
    """A verified token's scopes are kept with it: every later route decides from the cache alone,
    with the same answers as the first (uncached) request would give."""
    token = issuer.token(claims_for(issuer.issuer, AUD, scope="openid read:unicorn"))
    first = await h.call("unicorns", "GET", "/unicorn", bearer(token))
    assert (first.status, first.step["cache"]) == (200, "miss")
    for method, route, status, scopes in [
        ("POST", "/wish", 200, None),
        ("GET", "/unicorns", 403, None),
        ("GET", "/unicorn", 200, ["openid", "read:unicorn"]),
        ("POST", "/wish", 200, None),
    ]:
        result = await h.call("unicorns", method, route, bearer(token))
        assert result.status == status, route
        assert result.step["cache"] == "hit"
        if status == 200:
            assert result.outcome is not None
            assert result.outcome.scopes == scopes
            assert result.outcome.claims is not None
            assert result.outcome.claims["sub"] == "auth0|user-1"
        else:
            assert result.body == FORBIDDEN
            assert result.headers["www-authenticate"] == (
                'Bearer scope="list:unicorns admin" error="insufficient_scope" '
                'error_description="the token does not have the required scopes"'
            )


async def test_rest_jwt_claims_reach_the_integration_with_their_json_types(
    h: Harness, harness_factory: Callable[..., Harness], issuer: FakeIssuer, second_issuer: FakeIssuer
) -> None:
    """DG "Pass JWT claims to your integration" (REST): "the string "42" and the number 42 stay distinct.
    A Lambda proxy integration receives each claim with its JSON type. [...] access logs receive each
    claim as JSON text", non-ASCII as ``\\u00E9``. An HTTP API's JWT authorizer stringifies (§3.3)."""
    extra = {
        "name": 'Doe, "Jane"',
        "version": "42",
        "roles": ["user", "editor"],
        "address": {"city": "Montréal"},
        "admin": False,
    }
    claims = claims_for(issuer.issuer, "aud-a", scope="orders:read", **extra)
    rest = harness_factory(rest_jwt_yaml(issuer.issuer, second_issuer.issuer))
    outcome = (await rest.call("orders", "GET", "/prod/orders", bearer(issuer.token(claims)))).outcome
    assert outcome is not None
    request = GatewayRequest("GET", "/prod/orders", "", [], b"", source_ip="127.0.0.1")
    match = rest.routers["orders"].match("GET", "/prod/orders")
    event = proxy_event_v1(request, match, account_id="123456789012", authorizer=outcome)
    passed = event["requestContext"]["authorizer"]["claims"]
    assert passed == claims
    assert isinstance(passed["iat"], int)
    assert (passed["version"], passed["admin"]) == ("42", False)
    passed["roles"].append("changed by the handler")
    assert outcome.claims is not None
    assert outcome.claims["roles"] == ["user", "editor"]  # the event holds its own copy

    log = RecordContext(RequestRecord(request=request, request_id="r", authorizer=outcome))
    assert log["authorizer.claims.name"] == '"Doe, \\"Jane\\""'
    assert log["authorizer.claims.iat"] == str(claims["iat"])
    assert log["authorizer.claims.version"] == '"42"'
    assert log["authorizer.claims.roles"] == '["user","editor"]'
    assert log["authorizer.claims.address"] == '{"city":"Montr\\u00E9al"}'
    assert log["authorizer.claims.missing"] is None

    http_claims = claims_for(issuer.issuer, AUD, scope="read:unicorn", **extra)
    http = await h.call("unicorns", "GET", "/unicorn", bearer(issuer.token(http_claims)))
    assert http.outcome is not None
    http_match = h.routers["unicorns"].match("GET", "/unicorn")
    http_event = proxy_event_v1(request, http_match, account_id="123456789012", authorizer=http.outcome)
    stringified = http_event["requestContext"]["authorizer"]["claims"]
    assert stringified["iat"] == str(http_claims["iat"])
    assert stringified["roles"] == "[user editor]"
    assert stringified["admin"] == "false"
