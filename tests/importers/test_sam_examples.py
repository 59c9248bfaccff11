"""The SAM and CloudFormation examples, each run by ``gatehold up -c <template>`` as a real subprocess
and called over real HTTP with real tokens from the local identity provider, which serves the
templates' Auth0 issuer through ``--issuer-alias``.

* examples/sam-http-jwt: HttpApi + JWT authorizer, a scope per route, an open route, CORS;
* examples/sam-rest-token: Api + Lambda TOKEN authorizer (validation expression, explicit deny),
  generated CORS preflight, gateway response headers;
* examples/sam-rest-request: the implicit ServerlessRestApi + Lambda REQUEST authorizer with four
  identity sources, a usage plan's API key, SAM's extra ``Stage`` stage;
* examples/sam-definition-body: Api with an inline OpenAPI definition SAM adds integrations and
  authorizers to, a request validator, a mock;
* examples/cloudformation-cdk: ``cdk synth``'s template (RestApi + TOKEN authorizer, HttpApi + JWT
  authorizer), code from cdk.out's asset directories.

Statuses and bodies are AWS's (docs/aws-reference.md §1.2, §1.5, §3.2, §4.1, §4.2, §4.5, §6).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.importers.support import EXAMPLES, load, m2m_token
from tests.stackctl import Stack, new_stack

AUTH0 = "https://gatehold-example.us.auth0.com/"
ALIAS = ["--issuer-alias", AUTH0]
UNAUTHORIZED = {"message": "Unauthorized"}
FORBIDDEN = {"message": "Forbidden"}
NOT_FOUND = {"message": "Not Found"}
MISSING_TOKEN = {"message": "Missing Authentication Token"}
EXPLICIT_DENY = {"Message": "User is not authorized to access this resource with an explicit deny"}
#: a well-formed RS256 token the local identity provider never signed (unknown kid)
FORGED = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImZvcmdlZCJ9."
    "eyJzdWIiOiJtYWxsb3J5IiwiYXVkIjoiaHR0cHM6Ly9wZXRzLWFwaSJ9."
    "c2lnbmF0dXJl"
)


def running(tmp_path_factory: pytest.TempPathFactory, template: Path) -> Iterator[Stack]:
    """``gatehold up -c template --issuer-alias …`` for the tests of one example (module scope)."""
    stack = new_stack(tmp_path_factory.mktemp(template.parent.name), template, ALIAS).start()
    try:
        yield stack
    finally:
        stack.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------------------------------
# sam-http-jwt
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unicorns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running(tmp_path_factory, EXAMPLES / "sam-http-jwt" / "template.yaml")


def test_sam_http_jwt_scopes(unicorns: Stack) -> None:
    url = unicorns.gateway_url  # one HTTP API on $default: http://localhost:<port>/<path>
    listing = m2m_token(unicorns.idp_url, "https://unicorns-api", "list:unicorns")
    reading = m2m_token(unicorns.idp_url, "https://unicorns-api", "read:unicorn")
    allowed = httpx.get(f"{url}/unicorns", headers=bearer(listing))
    assert allowed.status_code == 200
    assert allowed.headers["content-type"] == "application/json"
    assert allowed.json() == {
        "unicorns": ["sparkle", "thunder"],
        "table": "UnicornsTable",
        "caller": "gatehold-m2m@clients",
    }
    one = httpx.get(f"{url}/unicorns/sparkle", headers=bearer(reading))
    assert one.status_code == 200
    assert one.json()["colour"] == "pink"
    # a token without the route's scope: 403 Forbidden (the JWT authorizer's insufficient scope)
    wrong_scope = httpx.get(f"{url}/unicorns/sparkle", headers=bearer(listing))
    assert (wrong_scope.status_code, wrong_scope.json()) == (403, FORBIDDEN)
    no_scope = httpx.post(f"{url}/unicorns", headers=bearer(reading), json={"name": "x"})
    assert (no_scope.status_code, no_scope.json()) == (403, FORBIDDEN)


@pytest.mark.parametrize(
    ("headers", "status", "body"),
    [
        pytest.param({}, 401, UNAUTHORIZED, id="no-token"),
        pytest.param({"Authorization": "Bearer not-a-jwt"}, 401, UNAUTHORIZED, id="malformed-token"),
        pytest.param(bearer(FORGED), 401, UNAUTHORIZED, id="forged-token"),
    ],
)
def test_sam_http_jwt_refusals(unicorns: Stack, headers: dict[str, str], status: int, body: object) -> None:
    response = httpx.get(f"{unicorns.gateway_url}/unicorns", headers=headers)
    assert (response.status_code, response.json()) == (status, body)


def test_sam_http_jwt_open_route_unknown_route_and_cors(unicorns: Stack) -> None:
    url = unicorns.gateway_url
    health = httpx.get(f"{url}/health")
    assert (health.status_code, health.json()) == (200, {"ok": True, "stage": "dev"})
    unknown = httpx.get(f"{url}/dragons")
    assert (unknown.status_code, unknown.json()) == (404, NOT_FOUND)
    preflight = httpx.options(
        f"{url}/unicorns",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert preflight.headers["access-control-max-age"] == "300"


# --------------------------------------------------------------------------------------------------
# sam-rest-token
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running(tmp_path_factory, EXAMPLES / "sam-rest-token" / "template.yaml")


def test_sam_rest_token_authorizer(pets: Stack) -> None:
    url = f"{pets.gateway_url}/prod"  # one REST API: http://localhost:<port>/<stage>/<path>
    token = m2m_token(pets.idp_url, "https://pets-api")
    listing = httpx.get(f"{url}/pets", headers=bearer(token))
    assert listing.status_code == 200
    assert listing.json()["caller"] == "gatehold-m2m@clients"
    created = httpx.post(f"{url}/pets", headers=bearer(token), json={"type": "fish"})
    assert (created.status_code, created.json()) == (201, {"type": "fish", "id": "3"})
    # the authorizer's explicit Deny for deletions without the admin claim
    denied = httpx.delete(f"{url}/pets/1", headers=bearer(token))
    assert (denied.status_code, denied.json()) == (403, EXPLICIT_DENY)
    assert denied.headers["x-amzn-errortype"] == "AccessDeniedException"
    # Auth: Authorizer: NONE on the event
    open_route = httpx.get(f"{url}/pets/2")
    assert (open_route.status_code, open_route.json()["type"]) == (200, "cat")


@pytest.mark.parametrize(
    ("headers", "status", "body"),
    [
        pytest.param({}, 401, UNAUTHORIZED, id="no-token"),
        # the identity validation expression fails: 401 without calling the authorizer
        pytest.param({"Authorization": "Basic dXNlcjpwdw=="}, 401, UNAUTHORIZED, id="not-a-bearer-token"),
        # the authorizer raises Exception("Unauthorized")
        pytest.param(bearer(FORGED), 401, UNAUTHORIZED, id="forged-token"),
    ],
)
def test_sam_rest_token_refusals(pets: Stack, headers: dict[str, str], status: int, body: object) -> None:
    response = httpx.get(f"{pets.gateway_url}/prod/pets", headers=headers)
    assert (response.status_code, response.json()) == (status, body)
    # GatewayResponses.DEFAULT_4XX adds the shop's origin to refusals
    assert response.headers["access-control-allow-origin"] == "https://shop.example.com"


def test_sam_rest_token_cors_preflight_and_unknown_routes(pets: Stack) -> None:
    url = f"{pets.gateway_url}/prod"
    preflight = httpx.options(f"{url}/pets", headers={"Origin": "https://shop.example.com"})
    assert preflight.status_code == 200  # SAM's mock, without the authorizer
    assert preflight.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert preflight.headers["access-control-allow-methods"] == "GET,OPTIONS,POST"
    assert preflight.headers["access-control-allow-headers"] == "Authorization,Content-Type"
    assert preflight.headers["access-control-max-age"] == "600"
    unknown = httpx.get(f"{url}/owners")
    assert (unknown.status_code, unknown.json()) == (403, MISSING_TOKEN)
    wrong_method = httpx.put(f"{url}/pets")
    assert (wrong_method.status_code, wrong_method.json()) == (403, MISSING_TOKEN)
    # OpenApiVersion is set: no extra 'Stage' stage
    stage = httpx.get(f"{pets.gateway_url}/Stage/pets/1")
    assert stage.status_code == 403


# --------------------------------------------------------------------------------------------------
# sam-rest-request
# --------------------------------------------------------------------------------------------------

REPORTS = EXAMPLES / "sam-rest-request" / "template.yaml"


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running(tmp_path_factory, REPORTS)


def test_sam_rest_request_authorizer(reports: Stack) -> None:
    url = f"{reports.gateway_url}/Prod"  # the implicit ServerlessRestApi's stage
    token = m2m_token(reports.idp_url, "https://reports-api")
    headers = {**bearer(token), "X-Tenant-Id": "acme"}
    allowed = httpx.get(f"{url}/reports", params={"region": "eu"}, headers=headers)
    assert allowed.status_code == 200
    assert allowed.json() == {
        "reports": ["q1", "q2"],
        "tenant": "acme",
        "region": "eu",
        "environment": "local",
    }
    denied = httpx.get(f"{url}/reports", params={"region": "eu"}, headers={**headers, "X-Tenant-Id": "evil"})
    assert (denied.status_code, denied.json()) == (403, EXPLICIT_DENY)
    status = httpx.get(f"{url}/status")
    assert (status.status_code, status.json()) == (200, {"status": "ok", "stage": "Prod"})


@pytest.mark.parametrize(
    ("drop", "status", "body"),
    [
        pytest.param("authorization", 401, UNAUTHORIZED, id="no-token"),
        pytest.param("tenant", 401, UNAUTHORIZED, id="no-tenant-header"),
        pytest.param("region", 401, UNAUTHORIZED, id="no-region-query"),
        pytest.param("forged", 401, UNAUTHORIZED, id="forged-token"),
    ],
)
def test_sam_rest_request_identity_sources(reports: Stack, drop: str, status: int, body: object) -> None:
    token = FORGED if drop == "forged" else m2m_token(reports.idp_url, "https://reports-api")
    headers = {**bearer(token), "X-Tenant-Id": "acme"}
    params = {"region": "eu"}
    if drop == "authorization":
        del headers["Authorization"]
    elif drop == "tenant":
        del headers["X-Tenant-Id"]
    elif drop == "region":
        params = {}
    response = httpx.get(f"{reports.gateway_url}/Prod/reports", params=params, headers=headers)
    assert (response.status_code, response.json()) == (status, body)


def test_sam_rest_request_usage_plan_key_and_stage_stage(reports: Stack) -> None:
    plan = load(REPORTS).config.gateway.usage_plans["ServerlessRestApiUsagePlan"]
    key = plan.api_keys[0]
    token = m2m_token(reports.idp_url, "https://reports-api")
    headers = {**bearer(token), "X-Tenant-Id": "globex"}
    url = f"{reports.gateway_url}/Prod/reports/r-1"
    without = httpx.get(url, params={"region": "us"}, headers=headers)
    assert (without.status_code, without.json()) == (403, FORBIDDEN)
    assert without.headers["x-amzn-errortype"] == "ForbiddenException"
    with_key = httpx.get(url, params={"region": "us"}, headers={**headers, "x-api-key": key})
    assert with_key.status_code == 200
    assert with_key.json()["apiKey"] == key
    # SAM's extra 'Stage' stage has no ENVIRONMENT variable: that identity source is missing
    stage = httpx.get(f"{reports.gateway_url}/Stage/reports", params={"region": "us"}, headers=headers)
    assert (stage.status_code, stage.json()) == (401, UNAUTHORIZED)
    assert httpx.get(f"{reports.gateway_url}/Stage/status").json() == {"status": "ok", "stage": "Stage"}


# --------------------------------------------------------------------------------------------------
# sam-definition-body
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running(tmp_path_factory, EXAMPLES / "sam-definition-body" / "template.yaml")


def test_sam_definition_body(inventory: Stack) -> None:
    url = f"{inventory.gateway_url}/v1"
    token = m2m_token(inventory.idp_url, "https://inventory-api")
    # the integration SAM added from the ListItems event; the authorizer the definition names
    listing = httpx.get(f"{url}/items", headers=bearer(token))
    assert (listing.status_code, listing.json()) == (
        200,
        {"items": [{"id": "1", "name": "kibble", "quantity": 12}]},
    )
    assert (httpx.get(f"{url}/items").status_code, httpx.get(f"{url}/items").json()) == (401, UNAUTHORIZED)
    # a route only the event defines, under the default authorizer
    item = httpx.get(f"{url}/items/1", headers=bearer(token))
    assert item.status_code == 200
    assert httpx.get(f"{url}/items/1").status_code == 401
    # the definition's own integration and request validator
    created = httpx.post(f"{url}/items", headers=bearer(token), json={"name": "bone", "quantity": 3})
    assert (created.status_code, created.json()) == (201, {"name": "bone", "quantity": 3, "id": "2"})
    invalid = httpx.post(f"{url}/items", headers=bearer(token), json={"name": "bone"})
    assert (invalid.status_code, invalid.json()) == (400, {"message": "Invalid request body"})
    # the mock opted out of the default authorizer with SAM's NONE
    health = httpx.get(f"{url}/health")
    assert (health.status_code, health.json()) == (200, {"status": "ok", "stage": "v1"})
    preflight = httpx.options(f"{url}/items")
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-methods"] == "GET,OPTIONS,POST"
    unknown = httpx.get(f"{url}/nothing", headers=bearer(token))
    assert (unknown.status_code, unknown.json()) == (403, MISSING_TOKEN)


# --------------------------------------------------------------------------------------------------
# cloudformation-cdk
# --------------------------------------------------------------------------------------------------

CDK = EXAMPLES / "cloudformation-cdk" / "cdk.out" / "PetShopStack.template.json"
PETS_API = "/PetsApi4B1A3D52/prod"  # two APIs in the template: each under /<LogicalId>
ORDERS_API = "/OrdersApi2A4C6E8B"


@pytest.fixture(scope="module")
def petshop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running(tmp_path_factory, CDK)


def test_cdk_rest_api_token_authorizer(petshop: Stack) -> None:
    url = petshop.gateway_url + PETS_API
    token = m2m_token(petshop.idp_url, "https://pets-api")
    allowed = httpx.get(f"{url}/pets", headers=bearer(token))
    assert allowed.status_code == 200
    assert allowed.json()["caller"] == "gatehold-m2m@clients"
    no_token = httpx.get(f"{url}/pets")
    assert (no_token.status_code, no_token.json()) == (401, UNAUTHORIZED)
    assert no_token.headers["access-control-allow-origin"] == "*"  # the UNAUTHORIZED gateway response
    forged = httpx.get(f"{url}/pets", headers=bearer(FORGED))
    assert (forged.status_code, forged.json()) == (401, UNAUTHORIZED)
    denied = httpx.delete(f"{url}/pets/1", headers=bearer(token))
    assert (denied.status_code, denied.json()) == (403, EXPLICIT_DENY)
    assert httpx.get(f"{url}/pets/1").json() == {"id": "1", "type": "dog", "price": 249.99}
    preflight = httpx.options(f"{url}/pets")
    assert preflight.status_code == 204  # cdk's CORS mock answers 204
    assert preflight.headers["access-control-allow-methods"] == "OPTIONS,GET,PUT,POST,DELETE,PATCH,HEAD"
    unknown = httpx.get(f"{url}/owners")
    assert (unknown.status_code, unknown.json()) == (403, MISSING_TOKEN)


def test_cdk_http_api_jwt_authorizer(petshop: Stack) -> None:
    url = petshop.gateway_url + ORDERS_API
    read = m2m_token(petshop.idp_url, "https://orders-api", "read:orders")
    listing = httpx.get(f"{url}/orders", headers=bearer(read))
    assert listing.status_code == 200
    assert listing.json() == {"orders": [{"id": "o-1", "item": "kibble"}], "customer": "gatehold-m2m@clients"}
    missing_scope = httpx.post(f"{url}/orders", headers=bearer(read), json={"item": "bone"})
    assert (missing_scope.status_code, missing_scope.json()) == (403, FORBIDDEN)
    write = m2m_token(petshop.idp_url, "https://orders-api", "write:orders")
    created = httpx.post(f"{url}/orders", headers=bearer(write), json={"item": "bone"})
    assert created.status_code == 201
    assert created.json()["item"] == "bone"
    no_token = httpx.get(f"{url}/orders")
    assert (no_token.status_code, no_token.json()) == (401, UNAUTHORIZED)
    forged = httpx.get(f"{url}/orders", headers=bearer(FORGED))
    assert (forged.status_code, forged.json()) == (401, UNAUTHORIZED)
    unknown = httpx.get(f"{url}/invoices", headers=bearer(read))
    assert (unknown.status_code, unknown.json()) == (404, NOT_FOUND)


def test_the_examples_load_without_problems() -> None:
    for template in (
        EXAMPLES / "sam-http-jwt" / "template.yaml",
        EXAMPLES / "sam-rest-token" / "template.yaml",
        REPORTS,
        EXAMPLES / "sam-definition-body" / "template.yaml",
        CDK,
    ):
        loaded = load(template, issuer_aliases=(AUTH0,))
        assert loaded.config.apis, template
        assert all(Path(fn.code_path or "").is_dir() for fn in loaded.config.functions.values())
