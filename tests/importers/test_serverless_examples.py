"""serverless.yml files run unchanged (issue 11 items 4-7): the two examples started with
``gatehold up -c <dir>/serverless.yml`` over real HTTP, with real tokens from the local identity
provider, asserting API Gateway's exact statuses and bodies; and files written for these tests in
the shapes of serverless/examples' and serverless-offline's services (tests/importers/fixtures/serverless/,
SOURCES.md there) that import, or are refused with precise messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from gatehold.importers.base import shell_quoted
from gatehold.testing.tokens import FAILURE_MODES, Tokens
from tests.importers.support import EXAMPLES, load, m2m_token, problems
from tests.stackctl import Stack, new_stack

FIXTURES = Path(__file__).parent / "fixtures" / "serverless"
ALIAS = ["--issuer-alias", "https://*.auth0.com/"]

UNAUTHORIZED = {"message": "Unauthorized"}
FORBIDDEN = {"message": "Forbidden"}
EXPLICIT_DENY = {"Message": "User is not authorized to access this resource with an explicit deny"}
MISSING_TOKEN = {"message": "Missing Authentication Token"}


# --------------------------------------------------------------------------------------------------
# examples/serverless-http-api: httpApi events, a JWT authorizer with scopes
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = new_stack(
        tmp_path_factory.mktemp("sls-http-api"), EXAMPLES / "serverless-http-api" / "serverless.yml", ALIAS
    ).start()
    yield stack
    stack.stop()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_http_api_open_route_is_served_at_the_root_like_serverless_offline(http_api: Stack) -> None:
    response = httpx.get(f"{http_api.gateway_url}/health")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "route": "GET /health"}


def test_http_api_jwt_without_a_token_is_401(http_api: Stack) -> None:
    response = httpx.get(f"{http_api.gateway_url}/unicorns")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["www-authenticate"] == "Bearer"


def test_http_api_jwt_with_the_scope_runs_the_handler(http_api: Stack) -> None:
    token = m2m_token(http_api.idp_url, "https://unicorns.example.com", "list:unicorns")
    response = httpx.get(f"{http_api.gateway_url}/unicorns", headers=_bearer(token))
    assert response.status_code == 200
    assert response.json() == {
        "stable": "The Sparkleford Stable",
        "stage": "dev",
        "caller": "gatehold-m2m@clients",
        "unicorns": ["sparkle", "thunder"],
    }


def test_http_api_jwt_without_the_routes_scope_is_403(http_api: Stack) -> None:
    token = m2m_token(http_api.idp_url, "https://unicorns.example.com", "read:unicorn")
    response = httpx.get(f"{http_api.gateway_url}/unicorns", headers=_bearer(token))
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    ok = httpx.get(f"{http_api.gateway_url}/unicorns/sparkle", headers=_bearer(token))
    assert ok.status_code == 200
    assert ok.json() == {"name": "sparkle", "colour": "pink", "age": 7}


def test_http_api_malformed_token_is_401(http_api: Stack) -> None:
    bad = httpx.get(f"{http_api.gateway_url}/unicorns", headers=_bearer("not.a.jwt"))
    assert bad.status_code == 401
    assert bad.json() == UNAUTHORIZED


def test_http_api_cors_preflight_from_the_allowed_origin(http_api: Stack) -> None:
    response = httpx.options(
        f"{http_api.gateway_url}/unicorns",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert response.headers["access-control-allow-methods"] == "OPTIONS,GET"
    assert response.headers["access-control-max-age"] == "300"


def test_http_api_unknown_route_is_404(http_api: Stack) -> None:
    response = httpx.get(f"{http_api.gateway_url}/dev/unicorns")
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


# --------------------------------------------------------------------------------------------------
# examples/serverless-rest: http events, Lambda TOKEN and REQUEST authorizers, CORS, an API key
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = new_stack(
        tmp_path_factory.mktemp("sls-rest"), EXAMPLES / "serverless-rest" / "serverless.yml", ALIAS
    ).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def clinic_token(rest: Stack) -> str:
    return m2m_token(rest.idp_url, "https://clinic.example.com")


def test_rest_is_served_below_the_stage_like_serverless_offline(rest: Stack) -> None:
    response = httpx.get(f"{rest.gateway_url}/dev/health")
    assert response.status_code == 200
    assert response.text == "ok"


@pytest.mark.parametrize(
    ("headers", "status", "body"),
    [
        pytest.param({}, 401, UNAUTHORIZED, id="no-token"),
        pytest.param(
            {"Authorization": "Basic dXNlcjpwYXNz"}, 401, UNAUTHORIZED, id="fails-validation-expression"
        ),
        pytest.param(
            {"Authorization": "Bearer not.a.token"}, 401, UNAUTHORIZED, id="authorizer-says-unauthorized"
        ),
    ],
)
def test_rest_token_authorizer_refusals(
    rest: Stack, headers: dict[str, str], status: int, body: object
) -> None:
    response = httpx.get(f"{rest.gateway_url}/dev/pets", headers=headers)
    assert response.status_code == status
    assert response.json() == body
    assert response.headers["x-amzn-errortype"] == "UnauthorizedException"
    # the GatewayResponse resource (DEFAULT_4XX) adds CORS headers to refusals
    assert response.headers["access-control-allow-origin"] == "*"


def test_rest_token_authorizer_allows_a_real_token(rest: Stack, clinic_token: str) -> None:
    response = httpx.get(f"{rest.gateway_url}/dev/pets", headers=_bearer(clinic_token))
    assert response.status_code == 200
    assert response.json() == {
        "clinic": "Pet Clinic (dev)",
        "caller": "gatehold-m2m@clients",
        "pets": [{"id": "1", "name": "Rex", "kind": "dog"}, {"id": "2", "name": "Tom", "kind": "cat"}],
    }


def test_rest_token_authorizer_explicit_deny(rest: Stack, clinic_token: str) -> None:
    response = httpx.post(f"{rest.gateway_url}/dev/pets", json={"name": "Kit"}, headers=_bearer(clinic_token))
    assert response.status_code == 403
    assert response.json() == EXPLICIT_DENY
    assert response.headers["x-amzn-errortype"] == "AccessDeniedException"


def test_rest_route_tokens_from_custom_gatehold_expects(rest: Stack) -> None:
    """custom.gatehold.expects declares what token_handler checks: gatehold token --route's tokens
    for GET /pets, each answered as documented; POST takes write:pets besides (asked with --scope)."""
    tokens = Tokens.for_stack(rest.data_dir)
    assert (
        httpx.get(f"{rest.gateway_url}/dev/pets", headers=_bearer(tokens.passing("GET /pets"))).status_code
        == 200
    )
    for mode in FAILURE_MODES:
        if mode == "missing-scope":
            continue  # token_handler requires no scope of GET
        expected = tokens.expected(mode, "GET /pets")
        response = httpx.get(
            f"{rest.gateway_url}/dev/pets", headers=_bearer(tokens.failing(mode, "GET /pets"))
        )
        assert (response.status_code, response.content) == (expected.status, expected.body), mode
        assert (expected.status, response.json()) == (401, UNAUTHORIZED)
        assert response.headers["x-amzn-errortype"] == "UnauthorizedException"
    writer = tokens.passing("POST /pets", scopes=["write:pets"])
    created = httpx.post(f"{rest.gateway_url}/dev/pets", json={"name": "Kit"}, headers=_bearer(writer))
    assert (created.status_code, created.json()) == (201, {"name": "Kit"}), created.text
    reader = httpx.post(
        f"{rest.gateway_url}/dev/pets", json={"name": "Kit"}, headers=_bearer(tokens.passing("POST /pets"))
    )
    assert (reader.status_code, reader.json()) == (403, EXPLICIT_DENY)


@pytest.mark.parametrize(
    ("visit", "status", "body"),
    [
        pytest.param(None, 401, UNAUTHORIZED, id="identity-source-missing"),
        pytest.param("x", 403, EXPLICIT_DENY, id="denied"),
        pytest.param("42", 200, {"id": "1", "name": "Rex", "kind": "dog", "visit": "42"}, id="allowed"),
    ],
)
def test_rest_request_authorizer(
    rest: Stack, clinic_token: str, visit: str | None, status: int, body: object
) -> None:
    headers = _bearer(clinic_token)
    if visit is not None:
        headers["X-Clinic-Visit"] = visit
    response = httpx.get(f"{rest.gateway_url}/dev/pets/1", headers=headers)
    assert response.status_code == status
    assert response.json() == body


def test_rest_private_route_needs_the_api_key(rest: Stack) -> None:
    url = f"{rest.gateway_url}/dev/pets/export"
    refused = httpx.get(url)
    assert refused.status_code == 403
    assert refused.json() == FORBIDDEN
    assert refused.headers["x-amzn-errortype"] == "ForbiddenException"
    allowed = httpx.get(url, headers={"x-api-key": "partner-key-0123456789abcdef"})
    assert allowed.status_code == 200
    assert allowed.json() == {"apiKey": "partner-key-0123456789abcdef", "count": 2}


def test_rest_required_query_string_is_validated(rest: Stack) -> None:
    missing = httpx.get(f"{rest.gateway_url}/dev/pets/search")
    assert missing.status_code == 400
    assert missing.json() == {"message": "Missing required request parameters: [kind]"}
    assert missing.headers["x-amzn-errortype"] == "BadRequestException"
    found = httpx.get(f"{rest.gateway_url}/dev/pets/search", params={"kind": "cat"})
    assert found.status_code == 200
    assert found.json() == [{"id": "2", "name": "Tom", "kind": "cat"}]


@pytest.mark.parametrize(
    ("body", "status", "answer"),
    [
        pytest.param({"petId": "1"}, 400, {"message": "Invalid request body"}, id="missing-day"),
        pytest.param({"petId": "1", "day": "soon"}, 400, {"message": "Invalid request body"}, id="bad-day"),
        pytest.param(
            {"petId": "1", "day": "2026-01-02"},
            201,
            {"booked": {"petId": "1", "day": "2026-01-02"}},
            id="valid",
        ),
    ],
)
def test_rest_request_schema_from_a_file_is_validated(
    rest: Stack, body: object, status: int, answer: object
) -> None:
    response = httpx.post(f"{rest.gateway_url}/dev/visits", json=body)
    assert response.status_code == status
    assert response.json() == answer


def test_rest_cors_preflight_is_the_frameworks_mock(rest: Stack) -> None:
    response = httpx.options(
        f"{rest.gateway_url}/dev/pets",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == "OPTIONS,POST,GET"
    assert response.headers["access-control-allow-headers"] == (
        "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,X-Amz-User-Agent,X-Amzn-Trace-Id"
    )


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        pytest.param("/prod/pets", 403, FORBIDDEN, id="unknown-stage"),
        pytest.param("/dev/owners", 403, MISSING_TOKEN, id="unknown-resource"),
    ],
)
def test_rest_gateway_responses(rest: Stack, path: str, status: int, body: object) -> None:
    response = httpx.get(f"{rest.gateway_url}{path}")
    assert response.status_code == status
    assert response.json() == body


def test_rest_stage_comes_from_the_stage_flag(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(
        EXAMPLES / "serverless-rest" / "serverless.yml", extra_args=[*ALIAS, "--stage", "qa"]
    )
    token = m2m_token(stack.idp_url, "https://clinic.example.com")
    response = httpx.get(f"{stack.gateway_url}/qa/pets", headers=_bearer(token))
    assert response.status_code == 200
    assert response.json()["clinic"] == "Pet Clinic (qa)"
    old = httpx.get(f"{stack.gateway_url}/dev/pets", headers=_bearer(token))
    assert old.status_code == 403
    assert old.json() == FORBIDDEN


# --------------------------------------------------------------------------------------------------
# serverless.yml files in the shapes of published services (fixtures/serverless/SOURCES.md)
# --------------------------------------------------------------------------------------------------


def _routes(name: str, **options: object) -> dict[str, list[str]]:
    loaded = load(FIXTURES / name / "serverless.yml", **options)
    return {api_name: list(api.routes) for api_name, api in loaded.config.apis.items()}


@pytest.mark.parametrize(
    ("name", "routes"),
    [
        pytest.param(
            "python-rest-crud-dynamodb",
            {
                "dev-bookshelf-rest": [
                    "OPTIONS /books",
                    "OPTIONS /books/{isbn}",
                    "POST /books",
                    "GET /books",
                    "GET /books/{isbn}",
                    "PUT /books/{isbn}",
                    "DELETE /books/{isbn}",
                ]
            },
            id="python-rest-crud-dynamodb",
        ),
        pytest.param(
            "python-http-api-crud-dynamodb",
            {
                "dev-notes-http": [
                    "POST /notes",
                    "GET /notes",
                    "GET /notes/{noteId}",
                    "PUT /notes/{noteId}",
                    "DELETE /notes/{noteId}",
                ]
            },
            id="python-http-api-crud-dynamodb",
        ),
        pytest.param(
            "python-http-api-single-route",
            {"dev-clock-service": ["GET /now"]},
            id="python-http-api-single-route",
        ),
        pytest.param("python-wsgi-proxy", {"dev-wsgi-site": ["ANY /", "ANY /{proxy+}"]}, id="wsgi-proxy"),
    ],
)
def test_fixture_files_import(name: str, routes: dict[str, list[str]]) -> None:
    assert _routes(name) == routes


def test_fixture_wsgi_plugin_is_named_as_not_run() -> None:
    path = FIXTURES / "python-wsgi-proxy" / "serverless.yml"
    ignored = [str(f) for f in load(path).ignored]
    assert (
        f"{path}:30: plugins[0]: plugin serverless-wsgi: not run (the wsgi_handler module it generates at"
        " package time must exist locally)" in ignored
    )


def test_fixture_environment_from_self_and_opt() -> None:
    loaded = load(FIXTURES / "python-rest-crud-dynamodb" / "serverless.yml", stage="prod")
    env = {name: fn.environment for name, fn in loaded.config.functions.items()}
    assert env["bookshelf-rest-prod-addBook"] == {"BOOKS_TABLE": "bookshelf-rest-prod"}


@pytest.mark.parametrize(("name", "line"), [("python-auth0-authorizer", 18), ("node-auth0-authorizer", 15)])
def test_fixture_files_reading_secrets_name_the_value_to_give(name: str, line: int) -> None:
    path = FIXTURES / name / "serverless.yml"
    key = "file(./secrets.json):auth0ClientId=VALUE"
    assert problems(path) == [
        f"{path}:{line}: provider.environment.AUTH0_CLIENT_ID: ${{file(./secrets.json):auth0ClientId}}:"
        f" ./secrets.json does not exist; give the value with --value {shell_quoted(key)}",
        f"{path}:{line + 1}: provider.environment.AUTH0_PUBLIC_KEY: ${{file(./auth0-public-key.pem)}}:"
        " ./auth0-public-key.pem does not exist; give the value with --value"
        " 'file(./auth0-public-key.pem)=VALUE'",
    ]


SECRETS = {
    "file(./secrets.json):auth0ClientId": "client-1",
    "file(./auth0-public-key.pem)": "-----BEGIN KEY-----",
}


def test_fixture_python_authorizer_api_with_the_values_given() -> None:
    path = FIXTURES / "python-auth0-authorizer" / "serverless.yml"
    loaded = load(path, values=SECRETS)
    api = loaded.config.apis["dev-members-portal"]
    assert list(api.routes) == [
        "OPTIONS /api/welcome",
        "OPTIONS /api/members",
        "POST /api/welcome",
        "POST /api/members",
    ]
    assert api.routes["POST /api/members"].authorizer == "checkToken"
    assert api.routes["POST /api/welcome"].authorizer is None
    assert api.authorizers["checkToken"].function == "members-portal-dev-checkToken"
    assert sorted(api.gateway_responses) == ["EXPIRED_TOKEN", "UNAUTHORIZED"]
    fn = loaded.config.functions["members-portal-dev-checkToken"]
    assert fn.runtime == "python"  # python3.6, retired by Lambda, runs on Gatehold's Python
    assert fn.environment["AUTH0_CLIENT_ID"] == "client-1"
    assert (
        f"{path}:25: functions.checkToken.cors:"
        " not a function property Gatehold knows (a plugin's?): not applied"
        in [str(f) for f in loaded.ignored]
    )


def test_fixture_node_authorizer_api_with_the_values_given_loads_on_its_runtime() -> None:
    path = FIXTURES / "node-auth0-authorizer" / "serverless.yml"
    functions = load(path, values=SECRETS).config.functions
    assert functions
    assert {fn.runtime for fn in functions.values()} == {"nodejs18.x"}


def test_fixture_node_runtime_lambda_retired_is_refused_by_the_model() -> None:
    path = FIXTURES / "node-http-api-offline" / "serverless.yml"
    assert problems(path) == [
        f"{path}:17: provider.runtime: nodejs16.x is not a Node.js runtime Lambda runs: nodejs18.x,"
        " nodejs20.x, nodejs22.x, nodejs24.x"
    ]
