"""The Lambda Runtime API the gateway serves, driven by a runtime interface client that is not
Gatehold's: a few lines of Python on ``http.client`` (``_CLIENT``), as any language's would be.
Through a real :class:`~gatehold.runtime.pool.FunctionPool`, so the pool's semantics hold for it too."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest

from gatehold.runtime.context import FunctionSpec
from gatehold.runtime.environment import Environment, PoolEvents
from gatehold.runtime.pool import FunctionPool
from gatehold.runtime.runtime_api import RuntimeApiEnvironment

_CLIENT = r"""
import http.client, json, os, sys
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
api = http.client.HTTPConnection(host, int(port))
base = "/2018-06-01/runtime"

def call(method, path, body=None, headers=None, **kw):
    api.request(method, base + path, body=body, headers=headers or {}, **kw)
    r = api.getresponse()
    return r.status, dict(r.getheaders()), r.read()

if os.environ.get("MODE") == "init-error":
    call("POST", "/init/error", b'{"errorType":"Custom.InitError","errorMessage":"no config"}',
         {"Lambda-Runtime-Function-Error-Type": "Custom.InitError"})
    sys.exit(0)
while True:
    status, headers, body = call("GET", "/invocation/next")
    rid = headers["Lambda-Runtime-Aws-Request-Id"]
    event = json.loads(body)
    action = event.get("action")
    where = "/invocation/" + rid
    if action == "headers":
        out = {k: v for k, v in headers.items() if k.startswith("Lambda-Runtime-")}
        call("POST", where + "/response", json.dumps(out))
    elif action == "plain-error":
        call("POST", where + "/error", b"not json", {"Lambda-Runtime-Function-Error-Type": "Custom.Plain"})
    elif action == "json-error":
        error = {"errorType": "Custom.Json", "errorMessage": "as posted", "stackTrace": []}
        call("POST", where + "/error", json.dumps(error))
    elif action == "wrong-id":
        wrong, _, answer = call("POST", "/invocation/someone-else/response", b"1")
        call("POST", where + "/response", json.dumps({"status": wrong, "answer": json.loads(answer)}))
    elif action == "chunked":
        call("POST", where + "/response", iter([b'{"chunked":', b' true}']), encode_chunked=True)
    elif action == "unknown-path":
        status, _, _ = call("GET", "/nothing-here")
        call("POST", where + "/response", json.dumps({"status": status}))
    elif action == "exit-after-answer":
        call("POST", where + "/response", b'"answered"')
        sys.exit(5)
    else:
        call("POST", where + "/response", json.dumps({"echo": event, "pid": os.getpid()}))
"""


def _spec(name: str = "foreign", **options: Any) -> FunctionSpec:
    settings: dict[str, Any] = {
        "name": name,
        "handler": "client.handler",
        "code_path": None,
        "timeout": 10.0,
        "memory_size": 256,
        "environment": {},
        "isolation": "process",
        "concurrency": None,
        "region": "us-east-1",
        "account_id": "123456789012",
        "runtime": "provided.al2023",
    }
    settings.update(options)
    return FunctionSpec(**settings)


def _launcher(mode: str = "") -> Callable[..., Environment]:
    def start(
        spec: FunctionSpec, events: PoolEvents, loop: asyncio.AbstractEventLoop, generation: int
    ) -> Environment:
        env = dict(os.environ) | {"MODE": mode}
        return RuntimeApiEnvironment(spec, events, loop, generation, [sys.executable, "-c", _CLIENT], env)

    return start


@pytest.fixture
async def pools() -> AsyncIterator[Callable[..., FunctionPool]]:
    made: list[FunctionPool] = []

    def make(mode: str = "", **options: Any) -> FunctionPool:
        pool = FunctionPool(_spec(**options), _launcher(mode))
        made.append(pool)
        return pool

    yield make
    for pool in made:
        await pool.aclose()


async def _invoke(pool: FunctionPool, event: Any, request_id: str = "req-1") -> tuple[Any, Any]:
    outcome = await pool.invoke(event, request_id, None)
    assert outcome is not None
    payload, error = outcome
    return (orjson.loads(payload) if payload is not None else None), error


async def test_next_gives_the_event_and_lambdas_headers(pools: Callable[..., FunctionPool]) -> None:
    pool = pools()
    payload, error = await _invoke(pool, {"action": "headers"}, "4f0c-request")
    assert error is None
    assert payload["Lambda-Runtime-Aws-Request-Id"] == "4f0c-request"
    assert (
        payload["Lambda-Runtime-Invoked-Function-Arn"]
        == "arn:aws:lambda:us-east-1:123456789012:function:foreign"
    )
    assert int(payload["Lambda-Runtime-Deadline-Ms"]) > 0
    assert payload["Lambda-Runtime-Trace-Id"].startswith("Root=1-")
    assert "Lambda-Runtime-Client-Context" not in payload  # none for an API Gateway invocation


async def test_responses_are_the_payload_and_the_environment_stays_warm(
    pools: Callable[..., FunctionPool],
) -> None:
    pool = pools()
    first, _ = await _invoke(pool, {"n": 1})
    second, _ = await _invoke(pool, {"n": 2}, "req-2")
    assert (first["echo"], second["echo"]) == ({"n": 1}, {"n": 2})
    assert first["pid"] == second["pid"]


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        pytest.param(
            "json-error", {"errorType": "Custom.Json", "errorMessage": "as posted", "stackTrace": []}
        ),
        pytest.param("plain-error", {"errorType": "Custom.Plain", "errorMessage": "not json"}),
    ],
)
async def test_errors_are_passed_as_the_runtime_posted_them(
    pools: Callable[..., FunctionPool], action: str, expected: dict[str, Any]
) -> None:
    payload, error = await _invoke(pools(), {"action": action})
    assert (payload, error) == (None, expected)


async def test_an_answer_for_another_request_id_is_refused_400(pools: Callable[..., FunctionPool]) -> None:
    payload, _ = await _invoke(pools(), {"action": "wrong-id"})
    assert payload == {
        "status": 400,
        "answer": {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"},
    }


async def test_a_chunked_response_body(pools: Callable[..., FunctionPool]) -> None:
    assert await _invoke(pools(), {"action": "chunked"}) == ({"chunked": True}, None)


async def test_an_unknown_path_is_404(pools: Callable[..., FunctionPool]) -> None:
    assert await _invoke(pools(), {"action": "unknown-path"}) == ({"status": 404}, None)


async def test_an_init_error_answers_the_invocation_that_waited_for_it(
    pools: Callable[..., FunctionPool],
) -> None:
    pool = pools("init-error")
    for request_id in ("a", "b"):
        assert await _invoke(pool, {}, request_id) == (
            None,
            {"errorType": "Custom.InitError", "errorMessage": "no config"},
        )


async def test_a_runtime_that_exits_after_its_answer_gets_no_next_call(
    pools: Callable[..., FunctionPool],
) -> None:
    pool = pools()
    assert await _invoke(pool, {"action": "exit-after-answer"}) == ("answered", None)
    following = [await _invoke(pool, {"n": i}, f"r{i}") for i in range(3)]
    assert [payload["echo"] for payload, _ in following] == [{"n": 0}, {"n": 1}, {"n": 2}]


async def test_many_calls_at_once_each_get_their_own_answer(pools: Callable[..., FunctionPool]) -> None:
    pool = pools()
    await _invoke(pool, {"warm": True})
    results = await asyncio.gather(*(_invoke(pool, {"n": i}, f"b{i}") for i in range(20)))
    assert [payload["echo"] for payload, _ in results] == [{"n": i} for i in range(20)]
