"""Route-aware tokens (gatehold.testing.tokens, `gatehold token --route`), checked at the gateway.

For every route kind of the example stack (HTTP API JWT authorizer with and without scopes, REST
Lambda TOKEN authorizers: seed 000's HS256 one that denies, seed 001/003's RS256 one that raises
"Unauthorized"), with the Python ports and the seeds' own Node.js code, each failure mode's token
gets exactly its documented response over HTTP (status, body bytes, www-authenticate and the REST
headers) and the passing token gets through; an imported SAM template's JWT authorizer too. The
statuses below are written out, not read from the module under test.
"""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from gatehold.cli.common import example_config_path
from gatehold.config import load_config
from gatehold.config.loader import ConfigError, LoadedConfig
from gatehold.server import StackOptions
from gatehold.testing.tokens import (
    FAILURE_MODES,
    VALID,
    ExpectedResponse,
    TokenRequestError,
    Tokens,
    find_route,
    route_check,
)
from tests.importers.support import EXAMPLES
from tests.stackctl import Stack

ISSUER = "http://localhost:9000/"
EXPLICIT_DENY = b'{"Message":"User is not authorized to access this resource with an explicit deny"}'
UNAUTHORIZED = b'{"message":"Unauthorized"}'
FORBIDDEN = b'{"message":"Forbidden"}'
ALL_401 = dict.fromkeys(FAILURE_MODES, 401)
EXPIRED = "the token has expired"

# (api, route key, request path, the passing token's status, every mode's status; None: refused)
ROUTES: list[tuple[str, str, str, int, dict[str, int | None]]] = [
    ("unicorns", "GET /unicorns", "/unicorns/unicorns", 200, {**ALL_401, "missing-scope": 403}),
    ("unicorns", "GET /unicorn", "/unicorns/unicorn?name=Gaia", 200, {**ALL_401, "missing-scope": 403}),
    (
        "wishlist",
        "POST /wish-list-service",
        "/wishlist/default/wish-list-service",
        201,
        {**ALL_401, "missing-scope": None},
    ),
    ("petstore", "GET /pets", "/petstore/test/pets", 200, {**ALL_401, "missing-scope": None}),
    (
        "movies",
        "GET /movie",
        "/movies/beta/movie",
        200,
        {**dict.fromkeys(FAILURE_MODES, 403), "wrong-issuer": None, "unknown-kid": None},
    ),
    (
        "devices",
        "GET /device",
        "/devices/beta/device",
        200,
        {**dict.fromkeys(FAILURE_MODES, 403), "wrong-issuer": None, "unknown-kid": None},
    ),
]

JWT_DESCRIPTIONS = {
    "expired": "the token has expired",
    "not-yet-valid": "the token is not valid yet",
    "wrong-audience": "the token does not have a valid audience",
    "wrong-issuer": "the token does not have a valid issuer",
    "unknown-kid": "the token's signing key is unknown",
    "wrong-algorithm": "signing method HS256 is invalid",
    "bad-signature": "the token has an invalid signature",
    "alg-none": "the token has an empty segment (a null signature?)",
}

_tokens: dict[Path, Tokens] = {}


def tokens_for(stack: Stack) -> Tokens:
    if stack.data_dir not in _tokens:
        _tokens[stack.data_dir] = Tokens.for_stack(stack.data_dir)
    return _tokens[stack.data_dir]


def send(stack: Stack, method: str, path: str, token: str) -> httpx.Response:
    body = {"json": {"wish": "a unicorn"}} if method == "POST" else {}
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.request(method, stack.gateway_url + path, headers=headers, timeout=30, **body)


def assert_exactly(response: httpx.Response, expected: ExpectedResponse) -> None:
    assert response.status_code == expected.status, response.text
    assert response.content == expected.body
    for name, value in expected.headers.items():
        assert response.headers.get(name) == value, name
    if "www-authenticate" not in expected.headers:
        assert "www-authenticate" not in response.headers


@pytest.mark.parametrize("mode", [VALID, *FAILURE_MODES])
@pytest.mark.parametrize(("api", "route", "path", "passing", "statuses"), ROUTES, ids=[r[1] for r in ROUTES])
def test_each_token_gets_its_documented_response(
    example_stack: Stack,
    api: str,
    route: str,
    path: str,
    passing: int,
    statuses: dict[str, int | None],
    mode: str,
) -> None:
    tokens = tokens_for(example_stack)
    method = route.split()[0]
    if mode == VALID:
        response = send(example_stack, method, path, tokens.passing(route, api))
        assert response.status_code == passing, response.text
        return
    status = statuses[mode]
    if status is None:
        with pytest.raises(TokenRequestError, match=f"{mode} does not apply to {route} of API {api}"):
            tokens.failing(mode, route, api)
        return
    expected = tokens.expected(mode, route, api)
    assert expected.status == status
    response = send(example_stack, method, path, tokens.failing(mode, route, api))
    assert_exactly(response, expected)
    if api in ("unicorns", "wishlist"):  # HTTP API JWT authorizer: the RFC 6750 header says why
        if mode == "missing-scope":
            scope = {"GET /unicorns": "list:unicorns", "GET /unicorn": "read:unicorn"}[route]
            assert response.headers["www-authenticate"] == (
                f'Bearer scope="{scope}" error="insufficient_scope" '
                'error_description="the token does not have the required scopes"'
            )
            assert response.content == FORBIDDEN
        else:
            assert response.headers["www-authenticate"] == (
                f'Bearer scope="" error="invalid_token" error_description="{JWT_DESCRIPTIONS[mode]}"'
            )
            assert response.content == UNAUTHORIZED
    elif api == "petstore":  # the RS256 Lambda raises "Unauthorized"
        assert (response.content, response.headers["x-amzn-errortype"]) == (
            UNAUTHORIZED,
            "UnauthorizedException",
        )
    else:  # seed 000's HS256 Lambda answers a Deny policy; the API's DEFAULT_4XX adds the CORS header
        assert response.content == EXPLICIT_DENY
        assert response.headers["access-control-allow-origin"] == "*"


def test_a_user_token_and_chosen_scopes(stack: Stack) -> None:
    tokens = tokens_for(stack)
    token = tokens.passing("GET /unicorn", "unicorns", user="rider@example.com", scopes=["read:unicorn"])
    response = send(stack, "GET", "/unicorns/unicorn?name=Gaia", token)
    assert response.status_code == 200, response.text
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["iss"] == stack.issuer
    assert claims["sub"].startswith("auth0|")  # the user's id in the store, not a client's
    assert (claims["azp"], claims["scope"], claims["permissions"]) == (
        "demo-spa",
        "read:unicorn",
        ["read:unicorn"],
    )
    assert "gty" not in claims
    with pytest.raises(TokenRequestError, match="requires one of read:unicorn; scopes list:unicorns"):
        tokens.passing("GET /unicorn", "unicorns", scopes=["list:unicorns"])
    with pytest.raises(TokenRequestError, match=r"no user 'nobody@example\.com'"):
        tokens.passing("GET /unicorn", "unicorns", user="nobody@example.com")


def test_an_imported_sam_template(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(
        EXAMPLES / "sam-http-jwt" / "template.yaml",
        extra_args=["--issuer-alias", "https://gatehold-example.us.auth0.com/"],
    )
    tokens = Tokens.for_stack(stack.data_dir)
    allowed = send(stack, "GET", "/unicorns", tokens.passing("GET /unicorns"))
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["caller"] == "gatehold-m2m@clients"  # the client granted the API
    for mode in FAILURE_MODES:
        expected = tokens.expected(mode, "GET /unicorns/{name}")
        response = send(stack, "GET", "/unicorns/sparkle", tokens.failing(mode, "GET /unicorns/{name}"))
        assert_exactly(response, expected)
        assert response.status_code == (403 if mode == "missing-scope" else 401)


def gatehold(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatehold", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_cli_token_for_a_route_and_its_hints(stack: Stack, tmp_path: Path) -> None:
    data_dir = ["--data-dir", str(stack.data_dir)]
    minted = gatehold("token", *data_dir, "--route", "GET /unicorns", "--fail", "expired", "--json")
    assert minted.returncode == 0, minted.stderr
    out = json.loads(minted.stdout)
    assert out["expected"] == {
        "status": 401,
        "body": {"message": "Unauthorized"},
        "headers": {
            "www-authenticate": f'Bearer scope="" error="invalid_token" error_description="{EXPIRED}"'
        },
    }
    assert send(stack, "GET", "/unicorns/unicorns", out["token"]).status_code == 401
    # --fail list: every mode's command, runnable as printed (from any directory)
    listed = gatehold("token", *data_dir, "--route", "GET /pets", "--fail", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "missing-scope   does not apply: GET /pets of API petstore requires no scope" in listed.stdout
    commands = [line.strip() for line in listed.stdout.splitlines() if "--fail bad-signature" in line]
    assert len(commands) == 1
    printed = subprocess.run(
        shlex.split(commands[0]), capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert printed.returncode == 0, printed.stderr
    assert "expect 401" in printed.stderr
    assert send(stack, "GET", "/petstore/test/pets", printed.stdout.strip()).status_code == 401
    everything = gatehold("token", *data_dir, "--route", "GET /movie", "--all-failures")
    modes = json.loads(everything.stdout)["modes"]
    assert modes["unknown-kid"]["applies"] is False
    assert send(stack, "GET", "/movies/beta/movie", modes["valid"]["token"]).status_code == 200
    refused = gatehold("token", *data_dir, "--route", "GET /pets", "--fail", "missing-scope")
    assert refused.returncode == 1
    assert "missing-scope does not apply to GET /pets of API petstore" in refused.stderr


# --------------------------------------------------------------------------------------------------
# pure: route resolution and what a route's authorizer checks
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example() -> LoadedConfig:
    variables = StackOptions(data_dir=Path(".gatehold")).variables()
    assert variables["issuer"] == ISSUER
    return load_config(example_config_path(), variables=variables)


def resolve(loaded: LoadedConfig, route: str, api: str | None) -> None:
    route_check(loaded, *find_route(loaded, route, api), ISSUER)


AMBIGUOUS = """
functions:
  f: {handler: app.handler}
  auth: {handler: app.auth}
apis:
  one:
    type: HTTP
    routes:
      GET /things: {integration: {type: lambda, function: f}}
  two:
    type: REST
    stages: {prod: {}}
    authorizers:
      bare: {type: TOKEN, function: auth}
    routes:
      GET /things: {integration: {type: lambda, function: f}, authorizer: bare}
  three:
    type: HTTP
    authorizers:
      remote:
        type: JWT
        jwt_configuration: {issuer: https://tenant.auth0.com/, audience: [https://api]}
    routes:
      GET /remote: {integration: {type: lambda, function: f}, authorizer: remote}
"""


@pytest.mark.parametrize(
    ("route", "api", "message"),
    [
        ("GET /nowhere", None, "no route 'GET /nowhere'; routes: GET /movie (movies)"),
        ("GET /pets", "unicorns", "no route 'GET /pets' in API 'unicorns'; routes: GET /unicorn (unicorns)"),
        ("GET /pets", "zoo", "no API 'zoo'; the configuration's APIs: movies, devices, petstore"),
        (
            "GET /things",
            None,
            "route 'GET /things' is in several APIs; choose one: --api one (GET /things), --api two",
        ),
        ("GET /things", "one", "GET /things of API one has no authorizer: every request passes"),
        ("GET /things", "two", "Lambda authorizer bare (auth) checks what its code checks; declare it under"),
        ("GET /remote", None, "trusts https://tenant.auth0.com/, not the local identity provider"),
    ],
    ids=[
        "unknown route",
        "route of another API",
        "unknown API",
        "ambiguous",
        "no authorizer",
        "no expects",
        "foreign issuer",
    ],
)
def test_route_resolution_errors(
    example: LoadedConfig, tmp_path: Path, route: str, api: str | None, message: str
) -> None:
    loaded = example
    if "things" in route or "remote" in route:
        (tmp_path / "gatehold.yaml").write_text(AMBIGUOUS)
        loaded = load_config(tmp_path / "gatehold.yaml")
    with pytest.raises(TokenRequestError) as caught:
        resolve(loaded, route, api)
    assert message in str(caught.value)


def test_a_route_key_with_its_base_path_and_any_case(example: LoadedConfig) -> None:
    assert find_route(example, "get /petstore/pets", None) == ("petstore", "GET /pets")
    check = route_check(example, "unicorns", "GET /unicorns", ISSUER)
    assert (check.kind, check.audience, check.scopes, check.issuer) == (
        "jwt",
        "https://unicorns-api",
        ("list:unicorns",),
        ISSUER,
    )
    movies = route_check(example, "movies", "GET /movie", ISSUER)
    assert (movies.kind, movies.algorithm, movies.secret) == (
        "lambda",
        "HS256",
        b"demo-streaming-signing-secret-0123456789abcdef",
    )


@pytest.mark.parametrize(
    ("expects", "message"),
    [
        ("{audience: a, algorithm: HS256}", "algorithm HS256 needs secret_env"),
        ("{audience: a, secret_env: S}", "secret_env applies to HS256/HS384/HS512 only"),
        ("{audience: a, invalid_token: 500}", "invalid_token"),
        ("{issuer: x}", "audience"),
    ],
)
def test_expects_is_validated(tmp_path: Path, expects: str, message: str) -> None:
    (tmp_path / "gatehold.yaml").write_text(
        AMBIGUOUS.replace(
            "bare: {type: TOKEN, function: auth}",
            f"bare: {{type: TOKEN, function: auth, expects: {expects}}}",
        )
    )
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "gatehold.yaml")


def test_expects_on_a_jwt_authorizer_is_refused(tmp_path: Path) -> None:
    (tmp_path / "gatehold.yaml").write_text(
        AMBIGUOUS.replace(
            "audience: [https://api]}", "audience: [https://api]}\n        expects: {audience: a}"
        )
    )
    with pytest.raises(ConfigError, match="expects applies to Lambda authorizers"):
        load_config(tmp_path / "gatehold.yaml")


REST_JWT = """
apis:
  orders:
    type: REST
    stages: {prod: {}}
    gateway_responses:
      UNAUTHORIZED:
        status_code: 401
        headers: {X-Why: "'token'"}
        template: '{"error":$context.error.messageString,"type":"$context.error.responseType"}'
    authorizers:
      jwt:
        type: JWT
        issuers:
          - {issuer: "${issuer}", audiences: [https://orders-api]}
          - {issuer: "https://partner.example.com/", audiences: [orders], jwks_uri: "https://partner.example.com/keys"}
        required_claims: {gty: client-credentials}
    routes:
      GET /orders:
        integration: {type: mock, status_code: 202, body: "{}"}
        authorizer: jwt
        authorization_scopes: [read:orders]
tenant:
  apis:
    - {identifier: https://orders-api, permissions: [read:orders]}
  applications:
    orders-m2m:
      app_type: non_interactive
      client_secret: "orders-m2m-secret-0123456789-0123456789"
      grant_types: [client_credentials]
  client_grants:
    - {client_id: orders-m2m, audience: https://orders-api, scope: [read:orders]}
"""


def test_a_rest_jwt_authorizer_and_a_custom_gateway_response(
    stack_factory: Callable[..., Stack], tmp_path: Path
) -> None:
    config = tmp_path / "gatehold.yaml"
    config.write_text(REST_JWT)
    stack = stack_factory(config)
    tokens = Tokens.for_stack(stack.data_dir)
    assert tokens.expected(VALID, "GET /orders").status == 202  # the mock integration's status
    assert send(stack, "GET", "/orders/prod/orders", tokens.passing("GET /orders")).status_code == 202
    for mode in FAILURE_MODES:
        expected = tokens.expected(mode, "GET /orders")
        response = send(stack, "GET", "/orders/prod/orders", tokens.failing(mode, "GET /orders"))
        assert_exactly(response, expected)
        if mode == "missing-scope":
            assert (response.status_code, response.content) == (403, FORBIDDEN)
            assert response.headers["x-amzn-errortype"] == "AccessDeniedException"
        else:  # the UNAUTHORIZED gateway response's template and header, with the JWT authorizer's own
            assert response.content == b'{"error":"Unauthorized","type":"UNAUTHORIZED"}'
            assert response.headers["x-why"] == "token"
            assert response.headers["www-authenticate"].endswith(
                f'error_description="{JWT_DESCRIPTIONS[mode]}"'
            )


def test_an_imported_sam_template_s_lambda_authorizer(stack_factory: Callable[..., Stack]) -> None:
    """examples/sam-rest-token declares what its TOKEN authorizer checks in the function's Metadata
    (Gatehold.expects): the route's tokens, each answered as documented (its DEFAULT_4XX adds the
    shop's CORS header)."""
    stack = stack_factory(
        EXAMPLES / "sam-rest-token" / "template.yaml",
        extra_args=["--issuer-alias", "https://gatehold-example.us.auth0.com/"],
    )
    tokens = Tokens.for_stack(stack.data_dir)
    allowed = send(stack, "GET", "/prod/pets", tokens.passing("GET /pets"))
    assert allowed.status_code == 200, allowed.text
    for mode in FAILURE_MODES:
        if mode == "missing-scope":  # the authorizer requires no scope
            with pytest.raises(TokenRequestError, match="GET /pets of API PetsApi requires no scope"):
                tokens.failing(mode, "GET /pets")
            continue
        expected = tokens.expected(mode, "GET /pets")
        response = send(stack, "GET", "/prod/pets", tokens.failing(mode, "GET /pets"))
        assert_exactly(response, expected)
        assert (response.status_code, response.content) == (401, UNAUTHORIZED), mode
        assert response.headers["x-amzn-errortype"] == "UnauthorizedException"
        assert response.headers["access-control-allow-origin"] == "https://shop.example.com"
