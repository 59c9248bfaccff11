"""Who gets into the Orders API: the JWT authorizer of template.yaml, on a real gateway.

The gatehold_* fixtures come from Gatehold's pytest plugin; pyproject.toml says which template the
stack serves. Nothing here is mocked: each request goes over HTTP to the gateway, which checks the
token against the local identity provider's keys, exactly as API Gateway checks Auth0's.
"""

import httpx
import pytest
from gatehold.testing.tokens import FAILURE_MODES


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_needs_no_token(gatehold_client: httpx.Client) -> None:
    assert gatehold_client.get("/health").json() == {"status": "ok"}


def test_a_token_with_the_route_scope_gets_in(gatehold_client: httpx.Client, gatehold_tokens) -> None:
    token = gatehold_tokens.passing("GET /orders")
    response = gatehold_client.get("/orders", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["orders"] == []
    assert response.json()["customer"].endswith("@clients")  # a machine-to-machine token's sub


def test_no_token_is_401(gatehold_client: httpx.Client) -> None:
    response = gatehold_client.get("/orders")
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_a_read_token_cannot_create(gatehold_client: httpx.Client, gatehold_tokens) -> None:
    token = gatehold_tokens.passing("GET /orders")  # read:orders only
    response = gatehold_client.post("/orders", json={"item": "book"}, headers=bearer(token))
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}


def test_a_write_token_creates(gatehold_client: httpx.Client, gatehold_tokens) -> None:
    token = gatehold_tokens.passing("POST /orders")
    response = gatehold_client.post("/orders", json={"item": "book"}, headers=bearer(token))
    assert response.status_code == 201
    assert response.json()["order"] == {"item": "book"}


@pytest.mark.parametrize("mode", FAILURE_MODES)
def test_each_broken_token_gets_its_documented_response(
    gatehold_client: httpx.Client, gatehold_tokens, mode: str
) -> None:
    token = gatehold_tokens.failing(mode, "GET /orders")
    expected = gatehold_tokens.expected(mode, "GET /orders")
    response = gatehold_client.get("/orders", headers=bearer(token))
    assert (response.status_code, response.content) == (expected.status, expected.body)
    for name, value in expected.headers.items():
        assert response.headers[name] == value


@pytest.mark.gatehold(scope="function")  # a stack of its own: the clock moves for this test only
def test_a_token_expires_when_the_clock_passes_its_exp(
    gatehold_client: httpx.Client, gatehold_tokens, gatehold_clock
) -> None:
    gatehold_clock.freeze()
    token = gatehold_tokens.passing("GET /orders")  # iat: the frozen instant; exp: a day later
    assert gatehold_client.get("/orders", headers=bearer(token)).status_code == 200

    gatehold_clock.advance(2 * 86_400)

    response = gatehold_client.get("/orders", headers=bearer(token))
    expected = gatehold_tokens.expected("expired", "GET /orders")
    assert (response.status_code, response.content) == (expected.status, expected.body)
