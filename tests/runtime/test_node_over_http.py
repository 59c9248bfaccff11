"""Node.js functions behind the gateway, over HTTP on loopback: what a client gets from a REST API
and an HTTP API when a Node handler answers, crashes or hangs (AWS: a function error is REST 502
``{"message": "Internal server error"}``, HTTP API 500 ``{"message":"Internal Server Error"}``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gatehold.runtime.nodejs import find_node
from tests.runtime.support import served

pytestmark = pytest.mark.skipif(find_node() is None, reason="Node.js is not installed")


def _fn(export: str, **options: Any) -> dict[str, Any]:
    return {
        "handler": f"index.{export}",
        "code_path": "handlers/node/cjs",
        "runtime": "nodejs20.x",
        **options,
    }


FUNCTIONS = {
    "api": _fn("api"),
    "callback": _fn("apiCallback"),
    "succeed": _fn("apiSucceed"),
    "crash": _fn("exit"),
    "spin": _fn("spin", timeout=1),
}
ROUTES = {
    "GET /api": "api",
    "POST /cb": "callback",
    "PUT /ok": "succeed",
    "GET /crash": "crash",
    "GET /spin": "spin",
}
REST_FAILURE = b'{"message": "Internal server error"}'
HTTP_FAILURE = b'{"message":"Internal Server Error"}'


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    routes = {key: {"integration": {"type": "lambda", "function": fn}} for key, fn in ROUTES.items()}
    apis = {
        "rest": {"type": "REST", "base_path": "/rest", "stages": {"test": {}}, "routes": routes},
        "http": {"type": "HTTP", "base_path": "/http", "routes": routes},
    }
    async with served(FUNCTIONS, apis) as c:
        yield c


@pytest.mark.parametrize(
    ("prefix", "method"),
    [pytest.param("/rest/test", "GET", id="rest"), pytest.param("/http", "GET", id="http")],
)
async def test_a_node_handler_answers_through_both_api_types(
    client: httpx.AsyncClient, prefix: str, method: str
) -> None:
    response = await client.get(f"{prefix}/api")
    assert response.status_code == 200
    assert response.json()["method"] == method
    assert len(response.json()["requestId"]) == 36  # Lambda's request id, a UUID


@pytest.mark.parametrize("prefix", ["/rest/test", "/http"])
async def test_callback_and_context_succeed_handlers(client: httpx.AsyncClient, prefix: str) -> None:
    created = await client.post(f"{prefix}/cb")
    accepted = await client.put(f"{prefix}/ok")
    assert (created.status_code, created.text) == (201, "created")
    assert (accepted.status_code, accepted.text) == (202, "accepted")


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        pytest.param("/rest/test/crash", 502, REST_FAILURE, id="rest-process-exit"),
        pytest.param("/http/crash", 500, HTTP_FAILURE, id="http-process-exit"),
        pytest.param("/rest/test/spin", 502, REST_FAILURE, id="rest-timeout"),
        pytest.param("/http/spin", 500, HTTP_FAILURE, id="http-timeout"),
    ],
)
async def test_a_node_function_that_dies_is_a_function_error_and_the_stack_keeps_serving(
    client: httpx.AsyncClient, path: str, status: int, body: bytes
) -> None:
    response = await client.get(path)
    assert (response.status_code, response.content) == (status, body)
    assert (await client.get("/http/api")).status_code == 200
