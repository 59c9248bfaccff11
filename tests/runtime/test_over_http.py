"""What a client of the gateway gets when a function crashes, hangs, blows its memory or is
throttled — the default isolation, over HTTP on loopback (the gateway's own server, real workers).

AWS: a function error (a crash, a timeout, ``Runtime.OutOfMemory``) is REST 502
``{"message": "Internal server error"}`` / HTTP API 500 ``{"message":"Internal Server Error"}``; an
invocation Lambda refuses (``TooManyRequestsException``) is 500 on both (docs/aws-reference.md §2.3,
docs/runtime.md, "Errors, exactly as Lambda reports them"). No timing assertions: "meanwhile" is
asserted by the order in which answers arrive.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.runtime.support import served


def _fn(handler: str, **options: Any) -> dict[str, Any]:
    return {"handler": f"rt_http.{handler}", "code_path": "handlers", **options}


FUNCTIONS = {
    "ok": _fn("ok"),
    "crash": _fn("crash"),
    "stuck": _fn("stuck", timeout=1),
    "hog": _fn("hog", memory_size=128, timeout=30),
    "one-at-a-time": _fn("nap", reserved_concurrency=1, timeout=10),
    "large": _fn("large"),
}
ROUTES = {
    "GET /ok": "ok",
    "GET /crash": "crash",
    "GET /stuck": "stuck",
    "GET /hog": "hog",
    "GET /single": "one-at-a-time",
    "GET /large": "large",
}
REST_FAILURE = b'{"message": "Internal server error"}'
HTTP_FAILURE = b'{"message":"Internal Server Error"}'


def _apis() -> dict[str, Any]:
    def routes() -> dict[str, Any]:
        return {key: {"integration": {"type": "lambda", "function": fn}} for key, fn in ROUTES.items()}

    return {
        "rest": {"type": "REST", "base_path": "/rest", "stages": {"test": {}}, "routes": routes()},
        "http": {"type": "HTTP", "base_path": "/http", "routes": routes()},
    }


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with served(FUNCTIONS, _apis()) as c:
        yield c


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        pytest.param("/rest/test/crash", 502, REST_FAILURE, id="rest-crash"),
        pytest.param("/http/crash", 500, HTTP_FAILURE, id="http-crash"),
        pytest.param("/rest/test/hog?mb=1024", 502, REST_FAILURE, id="rest-out-of-memory"),
        pytest.param("/http/hog?mb=1024", 500, HTTP_FAILURE, id="http-out-of-memory"),
    ],
)
async def test_a_function_that_dies_is_a_function_error_and_the_stack_keeps_serving(
    client: httpx.AsyncClient, path: str, status: int, body: bytes
) -> None:
    response = await client.get(path)
    assert (response.status_code, response.content) == (status, body)
    again = await client.get(path)
    assert again.status_code == status  # a fresh environment, which dies again
    assert (await client.get("/http/ok")).status_code == 200


@pytest.mark.parametrize(
    ("prefix", "status", "body"),
    [
        pytest.param("/rest/test", 502, REST_FAILURE, id="rest"),
        pytest.param("/http", 500, HTTP_FAILURE, id="http"),
    ],
)
async def test_a_result_past_lambdas_6_mb_is_a_function_error_not_passed_through(
    client: httpx.AsyncClient, prefix: str, status: int, body: bytes
) -> None:
    """Lambda refuses a synchronous response past 6 MB (``Function.ResponseSizeTooLarge``): REST 502,
    HTTP API 500, like any function error; just under it is served."""
    too_large = await client.get(f"{prefix}/large", params={"kb": 20 * 1024})
    assert (too_large.status_code, too_large.content) == (status, body)
    served = await client.get(f"{prefix}/large", params={"kb": 5 * 1024})
    assert (served.status_code, len(served.content)) == (200, 5 << 20)


async def test_a_handler_holding_the_gil_answers_502_at_its_timeout_and_the_gateway_serves_meanwhile(
    client: httpx.AsyncClient,
) -> None:
    order: list[str] = []

    async def get(path: str) -> httpx.Response:
        response = await client.get(path)
        order.append(path)
        return response

    stuck = asyncio.ensure_future(get("/rest/test/stuck?seconds=120"))
    await asyncio.sleep(0.2)
    others = [await get("/http/ok") for _ in range(10)]
    assert [r.status_code for r in others] == [200] * 10
    response = await stuck
    assert (response.status_code, response.content) == (502, REST_FAILURE)
    assert order[-1] == "/rest/test/stuck?seconds=120"


@pytest.mark.parametrize(
    ("prefix", "body"),
    [pytest.param("/rest/test", REST_FAILURE, id="rest"), pytest.param("/http", HTTP_FAILURE, id="http")],
)
async def test_a_throttled_invocation_is_500_as_api_gateway_answers_it(
    client: httpx.AsyncClient, prefix: str, body: bytes
) -> None:
    running = asyncio.ensure_future(client.get(f"{prefix}/single?seconds=1"))
    await asyncio.sleep(0.3)
    throttled = await client.get(f"{prefix}/single?seconds=0")
    assert (throttled.status_code, throttled.content) == (500, body)
    assert (await running).status_code == 200
    assert (await client.get(f"{prefix}/single?seconds=0")).status_code == 200


async def test_the_gateway_process_keeps_its_memory_when_a_function_blows_its_own(
    client: httpx.AsyncClient,
) -> None:
    def rss_mb() -> float:
        pages = int(Path(f"/proc/{os.getpid()}/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)

    assert (await client.get("/http/hog?mb=8")).status_code == 200
    before = rss_mb()
    for _ in range(3):
        assert (await client.get("/http/hog?mb=4096")).status_code == 500
    assert rss_mb() - before < 64
