"""The Lambda Runtime API the gateway serves, driven by a runtime interface client that is not
Gatehold's: a few lines of Python on ``http.client`` (``_CLIENT``), as any language's would be.
Through a real :class:`~gatehold.runtime.pool.FunctionPool`, so the pool's semantics hold for it too."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest

from gatehold.runtime.context import FunctionSpec
from gatehold.runtime.environment import Call, Environment, PoolEvents
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


# -- Gatehold's batch extension, driven by a client of its own on the inherited descriptors --------

_BATCH_CLIENT = r"""
import json, os, socket, sys, time
api = socket.socket(fileno=int(os.environ["GATEHOLD_RUNTIME_API_FD"]))
claims = int(os.environ["GATEHOLD_CLAIMS_FD"])
base = "/2018-06-01/runtime"
buf = b""

def response():
    global buf
    while b"\r\n\r\n" not in buf:
        buf += api.recv(65536)
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", 0))
    while len(buf) < length:
        buf += api.recv(65536)
    body, buf = buf[:length], buf[length:]
    return int(lines[0].split()[1]), headers, body

def request(method, path, body=b"", headers=""):
    head = f"{method} {base}{path} HTTP/1.1\r\n{headers}Content-Length: {len(body)}\r\n\r\n"
    api.sendall(head.encode() + body)

def claimed():
    try:
        return len(os.read(claims, 1)) == 1
    except BlockingIOError:
        return False

replies = 0  # 202s seen while the batch ran (they are deferred to its end)
request("GET", "/invocation/next", headers="Gatehold-Batch: 1\r\n")
while True:
    status, headers, body = response()
    calls = json.loads(body)
    answered = 0
    if os.environ.get("MODE") == "slow-claim":
        time.sleep(0.5)
    for request_id, trace, event in calls:
        if len(calls) > 1 and not claimed():
            break  # taken back: it runs elsewhere
        if event.get("action") == "sleep-first":
            time.sleep(event["seconds"])
        payload = {"event": event, "batch": len(calls), "trace": trace, "replies_so_far": replies,
                   "arn": headers["lambda-runtime-invoked-function-arn"],
                   "timeout_ms": headers["gatehold-timeout-ms"]}
        body = json.dumps(payload).encode()
        request("POST", f"/invocation/{request_id}/response", body, "Gatehold-Duration-Us: 7\r\n")
        answered += 1
        time.sleep(0.02)
        api.setblocking(False)
        try:
            buf += api.recv(65536)
        except BlockingIOError:
            pass
        api.setblocking(True)
        replies = buf.count(b"202 Accepted")
    while buf.count(b"202 Accepted") < answered:
        buf += api.recv(65536)
    for _ in range(answered):
        assert response()[0] == 202
    replies = 0
    request("GET", "/invocation/next", headers="Gatehold-Batch: 1\r\n")
"""


class _Recorder:
    """PoolEvents that records what an environment reports (no pool: the batches are the test's)."""

    def __init__(self) -> None:
        self.is_ready = asyncio.Event()
        self.is_drained = asyncio.Event()
        self.answers: list[tuple[str, Any]] = []

    def ready(self, env: Environment, init_error: Any) -> None:
        self.is_ready.set()

    def answered(self, env: Environment, call: Call, outcome: Any) -> None:
        self.answers.append((call.request_id, orjson.loads(outcome[0])))
        call.future.set_result(outcome)

    def drained(self, env: Environment) -> None:
        self.is_drained.set()

    def exited(self, env: Environment, returncode: int | None) -> None:
        pass


BatchEnv = Callable[..., Awaitable[tuple[RuntimeApiEnvironment, _Recorder]]]


@pytest.fixture
async def batch_env() -> AsyncIterator[BatchEnv]:
    made: list[RuntimeApiEnvironment] = []

    async def start(mode: str = "") -> tuple[RuntimeApiEnvironment, _Recorder]:
        events = _Recorder()
        argv = [sys.executable, "-c", _BATCH_CLIENT]
        env = RuntimeApiEnvironment(
            _spec(), events, asyncio.get_running_loop(), 0, argv, dict(os.environ) | {"MODE": mode}
        )
        made.append(env)
        await asyncio.wait_for(events.is_ready.wait(), 30)
        return env, events

    yield start
    for env in made:
        env.kill("closed")
        env.reap_now()


def _calls(*events: Any) -> list[Call]:
    loop = asyncio.get_running_loop()
    return [Call(f"c{i}", event, loop.create_future()) for i, event in enumerate(events)]


async def test_a_batch_goes_out_in_one_answer_and_each_call_is_answered_in_order(batch_env: BatchEnv) -> None:
    env, events = await batch_env()
    env.submit(_calls({"n": 0}, {"n": 1}, {"n": 2}))
    await asyncio.wait_for(events.is_drained.wait(), 30)
    assert [rid for rid, _ in events.answers] == ["c0", "c1", "c2"]
    payloads = [payload for _, payload in events.answers]
    assert [p["event"] for p in payloads] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert {p["batch"] for p in payloads} == {3}  # one GET …/next took all three
    assert {p["arn"] for p in payloads} == {"arn:aws:lambda:us-east-1:123456789012:function:foreign"}
    assert {p["timeout_ms"] for p in payloads} == {"10000"}
    assert len({p["trace"] for p in payloads}) == 3
    assert all(p["trace"].startswith("Root=1-") and p["trace"].endswith(";Sampled=0") for p in payloads)
    # the 202s to the answers before the last wait for the batch's end
    assert [p["replies_so_far"] for p in payloads] == [0, 0, 0]
    assert env.ran_s == pytest.approx(3 * 7e-6)  # the runtime's own measure (Gatehold-Duration-Us)


async def test_calls_not_claimed_are_taken_back_and_the_running_one_is_started(batch_env: BatchEnv) -> None:
    env, events = await batch_env()
    env.submit(_calls({"action": "sleep-first", "seconds": 1.0}, {"n": 1}, {"n": 2}))
    for _ in range(500):  # until the client has claimed the first call
        if env.started():
            break
        await asyncio.sleep(0.01)
    assert env.started()
    taken = env.take_back()
    assert [call.request_id for call in taken] == ["c1", "c2"]
    await asyncio.wait_for(events.is_drained.wait(), 30)
    assert [rid for rid, _ in events.answers] == ["c0"]  # the client skipped what was taken back
    events.is_drained.clear()
    env.submit(_calls({"n": 3}))  # and the next batch runs as usual
    await asyncio.wait_for(events.is_drained.wait(), 30)
    assert events.answers[-1][1]["event"] == {"n": 3}


async def test_a_batch_taken_back_whole_before_it_started_ends_when_the_runtime_asks_again(
    batch_env: BatchEnv,
) -> None:
    env, events = await batch_env("slow-claim")  # the client waits 0.5 s before its first claim
    env.submit(_calls({"n": 0}, {"n": 1}))
    assert not env.started()
    assert [call.request_id for call in env.take_back()] == ["c0", "c1"]
    await asyncio.wait_for(events.is_drained.wait(), 30)
    assert events.answers == []
    events.is_drained.clear()
    env.submit(_calls({"n": 2}))
    await asyncio.wait_for(events.is_drained.wait(), 30)
    assert [rid for rid, _ in events.answers] == ["c0"]  # (the new batch's own numbering)
