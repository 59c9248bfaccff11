"""The invoker in both isolation modes: warm state, context, errors, timeouts (gatehold.runtime.invoker)."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest

from gatehold.runtime import LambdaInvoker
from tests.runtime.conftest import MakeInvoker
from tests.runtime.support import error_type, probe

MODES = [pytest.param("in-process", id="in-process"), pytest.param("process", id="process")]


@pytest.mark.parametrize("isolation", MODES)
async def test_module_state_stays_warm(make_invoker: MakeInvoker, isolation: str) -> None:
    invoker = make_invoker({"counter": probe("counter")}, isolation=isolation)
    counts = [(await invoker.invoke("counter", {}, request_id=f"r{i}")).payload["count"] for i in range(3)]
    assert counts == [1, 2, 3]


@pytest.mark.parametrize("isolation", MODES)
async def test_context_fields(make_invoker: MakeInvoker, isolation: str) -> None:
    invoker = make_invoker(
        {"ctx-fn": probe("context_fields", memory_size=256, timeout=7)},
        isolation=isolation,
        region="eu-west-1",
        account_id="111122223333",
    )
    result = await invoker.invoke("ctx-fn", {}, request_id="8f5e7c2a-0000-4000-8000-000000000001")
    fields = result.payload
    remaining = fields.pop("remaining_ms")
    stream = fields.pop("log_stream_name")
    assert fields == {
        "aws_request_id": "8f5e7c2a-0000-4000-8000-000000000001",
        "function_name": "ctx-fn",
        "function_version": "$LATEST",
        "memory_limit_in_mb": "256",
        "invoked_function_arn": "arn:aws:lambda:eu-west-1:111122223333:function:ctx-fn",
        "log_group_name": "/aws/lambda/ctx-fn",
        "identity": [None, None],
        "client_context": None,
    }
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", stream)
    assert 0 < remaining <= 7000


@pytest.mark.parametrize("isolation", MODES)
async def test_lambda_environment_variables(make_invoker: MakeInvoker, isolation: str) -> None:
    invoker = make_invoker(
        {"env-fn": probe("read_env", memory_size=512, environment={"TABLE": "WishList"})},
        isolation=isolation,
        region="ap-south-1",
    )
    keys = [
        "TABLE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_REGION",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "_HANDLER",
    ]
    seen = (await invoker.invoke("env-fn", {"keys": keys}, request_id="r1")).payload
    assert {k: v[0] for k, v in seen.items()} == {
        "TABLE": "WishList",
        "AWS_LAMBDA_FUNCTION_NAME": "env-fn",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_REGION": "ap-south-1",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/env-fn",
        "_HANDLER": "rt_probe.read_env",
    }
    assert all(v[0] == v[1] and v[2] for v in seen.values())  # os.getenv and `in` agree


@pytest.mark.parametrize("isolation", MODES)
async def test_handler_exception_is_lambdas_error_payload_and_is_logged(
    make_invoker: MakeInvoker, isolation: str, caplog: pytest.LogCaptureFixture
) -> None:
    invoker = make_invoker({"boom": probe("boom")}, isolation=isolation)
    with caplog.at_level(logging.ERROR, logger="gatehold.lambda"):
        result = await invoker.invoke("boom", {}, request_id="req-boom")
    assert result.payload is None
    assert not result.integration_timeout
    error = result.error
    assert error is not None
    stack = error.pop("stackTrace")
    assert error == {
        "errorMessage": "the unicorn is missing",
        "errorType": "ValueError",
        "requestId": "req-boom",
    }
    [frame] = stack  # only the handler's frame: the runtime's own are dropped, as Lambda does
    assert re.fullmatch(r'  File ".*/rt_probe\.py", line \d+, in boom\n    raise ValueError\(.*\)\n', frame)
    [record] = [r for r in caplog.records if r.name == "gatehold.lambda"]
    assert (record.function_name, record.request_id) == ("boom", "req-boom")  # type: ignore[attr-defined]
    assert record.getMessage().startswith(
        "[ERROR] ValueError: the unicorn is missing\nTraceback (most recent call last):"
    )
    assert 'raise ValueError("the unicorn is missing")' in record.getMessage()


@pytest.mark.parametrize("isolation", MODES)
async def test_unserialisable_return_is_a_marshal_error(make_invoker: MakeInvoker, isolation: str) -> None:
    invoker = make_invoker({"fn": probe("not_serialisable")}, isolation=isolation)
    result = await invoker.invoke("fn", {}, request_id="req-m")
    assert result.error == {
        "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": "req-m",
        "stackTrace": [],
    }


@pytest.mark.parametrize("isolation", MODES)
@pytest.mark.parametrize(
    ("handler", "error"),
    [
        pytest.param(
            "rt_broken_import.handler",
            {
                "errorMessage": "Unable to import module 'rt_broken_import': No module named "
                "'gatehold_no_such_dependency'",
                "errorType": "Runtime.ImportModuleError",
            },
            id="import-error",
        ),
        pytest.param(
            "rt_probe.no_such_function",
            {
                "errorMessage": "Handler 'no_such_function' missing on module 'rt_probe'",
                "errorType": "Runtime.HandlerNotFound",
            },
            id="handler-not-found",
        ),
    ],
)
async def test_init_errors(
    make_invoker: MakeInvoker, isolation: str, handler: str, error: dict[str, str]
) -> None:
    invoker = make_invoker({"fn": {"handler": handler, "code_path": "handlers"}}, isolation=isolation)
    for request_id in ("r1", "r2"):
        result = await invoker.invoke("fn", {}, request_id=request_id)
        assert result.error == {**error, "requestId": "", "stackTrace": []}


@pytest.mark.parametrize("isolation", MODES)
async def test_function_timeout_is_lambdas_timeout_error(make_invoker: MakeInvoker, isolation: str) -> None:
    invoker = make_invoker({"slow": probe("sleep", timeout=0.5)}, isolation=isolation)
    result = await invoker.invoke("slow", {"seconds": 5}, request_id="req-slow")
    assert not result.integration_timeout
    assert error_type(result) == "Sandbox.Timedout"
    assert result.error is not None
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z req-slow Task timed out after \d+\.\d\d seconds",
        result.error["errorMessage"],
    )
    # the function still answers afterwards
    ok = await invoker.invoke("slow", {"seconds": 0}, request_id="req-fast")
    assert ok.payload == {"slept": 0}


@pytest.mark.parametrize("isolation", MODES)
async def test_integration_deadline(make_invoker: MakeInvoker, isolation: str) -> None:
    invoker = make_invoker({"slow": probe("sleep", timeout=10)}, isolation=isolation)
    await invoker.invoke("slow", {"seconds": 0}, request_id="warm-up")
    result = await invoker.invoke("slow", {"seconds": 1.5}, request_id="req-late", deadline_s=0.2)
    assert (result.integration_timeout, result.payload, result.error) == (True, None, None)
    # an answer within the deadline is returned normally
    ok = await invoker.invoke("slow", {"seconds": 0}, request_id="req-ok", deadline_s=5)
    assert ok.payload == {"slept": 0}


@pytest.mark.parametrize("isolation", MODES)
async def test_handler_gets_its_own_copy_of_the_event(make_invoker: MakeInvoker, isolation: str) -> None:
    invoker = make_invoker({"fn": probe("mutate")}, isolation=isolation)
    event = {"body": "x", "headers": {"a": "b"}}
    result = await invoker.invoke("fn", event, request_id="r1")
    assert result.payload == "ok"
    assert event == {"body": "x", "headers": {"a": "b"}}


@pytest.mark.parametrize("isolation", MODES)
async def test_payload_round_trips_through_json(make_invoker: MakeInvoker, isolation: str) -> None:
    invoker = make_invoker({"echo": probe("echo")}, isolation=isolation)
    event = {"s": "ünïcode ✓", "n": 1, "f": 0.5, "l": [True, None], "nested": {"k": "v"}}
    assert (await invoker.invoke("echo", event, request_id="r1")).payload == event


async def test_unknown_function(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker({"echo": probe("echo")})
    result = await invoker.invoke("nope", {}, request_id="r1")
    assert error_type(result) == "ResourceNotFoundException"


@pytest.mark.parametrize("isolation", MODES)
async def test_failed_init_runs_again_on_the_next_invocation(
    make_invoker: MakeInvoker, isolation: str, tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    invoker = make_invoker(
        {
            "fn": {
                "handler": "rt_flaky_init.handler",
                "code_path": "handlers",
                "environment": {"READY_FILE": str(ready)},
            }
        },
        isolation=isolation,
    )
    failed = await invoker.invoke("fn", {}, request_id="r1")
    assert error_type(failed) == "RuntimeError"
    assert failed.error is not None
    assert failed.error["errorMessage"] == "the database is not up yet"
    ready.touch()
    assert (await invoker.invoke("fn", {}, request_id="r2")).payload == "ready"


@pytest.mark.parametrize("isolation", MODES)
async def test_a_quick_function_that_turns_slow_blocks_no_other_invocation(
    make_invoker: MakeInvoker, isolation: str
) -> None:
    """Thread mode answers a function that has been quick without the event loop (threads.py); when
    one of its runs is slow, another invocation of the same function still runs beside it."""
    invoker = make_invoker({"fn": probe("sleep", timeout=10)}, isolation=isolation)
    for i in range(5):
        assert (await invoker.invoke("fn", {"seconds": 0}, request_id=f"warm-{i}")).payload == {"slept": 0}
    finished: list[str] = []

    async def call(name: str, seconds: float) -> None:
        result = await invoker.invoke("fn", {"seconds": seconds}, request_id=name)
        assert result.payload == {"slept": seconds}
        finished.append(name)

    slow = asyncio.create_task(call("slow", 1.0))
    await asyncio.sleep(0)  # the slow run has started
    await call("fast", 0)
    await slow
    assert finished == ["fast", "slow"]


@pytest.mark.parametrize("isolation", MODES)
async def test_quick_calls_of_one_loop_turn_behind_a_slow_one_are_not_held_up(
    make_invoker: MakeInvoker, isolation: str
) -> None:
    """Thread mode runs the quick calls of one loop turn back to back on one thread (threads.py); the
    calls queued behind one that turned slow are handed to another thread."""
    invoker = make_invoker({"fn": probe("sleep", timeout=10)}, isolation=isolation)
    for i in range(5):
        assert (await invoker.invoke("fn", {"seconds": 0}, request_id=f"warm-{i}")).payload == {"slept": 0}
    finished: list[str] = []

    async def call(name: str, seconds: float) -> None:
        result = await invoker.invoke("fn", {"seconds": seconds}, request_id=name)
        assert result.payload == {"slept": seconds}
        finished.append(name)

    await asyncio.gather(call("slow", 1.0), call("fast-1", 0), call("fast-2", 0))
    assert (sorted(finished[:2]), finished[2]) == (["fast-1", "fast-2"], "slow")


async def warm(invoker: LambdaInvoker, *names: str) -> None:
    """A few quick runs each, so that thread mode takes its quick way (runs batched per loop turn)."""
    for name in names:
        for i in range(3):
            assert (await invoker.invoke(name, {"seconds": 0, "n": i}, request_id=f"warm-{i}")).error is None


@pytest.mark.parametrize(
    "callers", [pytest.param(2, id="two"), pytest.param(50, id="fifty"), pytest.param(400, id="four-hundred")]
)
async def test_concurrent_calls_each_get_their_own_answer(make_invoker: MakeInvoker, callers: int) -> None:
    """Thread mode runs the calls of one loop turn back to back on one thread (threads.py): each caller
    still gets its own answer, context and environment, and a fresh copy of the event, even when two
    functions share the batch."""
    invoker = make_invoker(
        {
            "a": probe("whoami", environment={"TABLE": "A"}),
            "b": probe("whoami", environment={"TABLE": "B"}),
        }
    )
    await warm(invoker, "a", "b")
    shared = {"n": -1}
    events = [{"n": n} for n in range(callers)]
    results = await asyncio.gather(
        *(invoker.invoke("ab"[n % 2], events[n], request_id=f"req-{n}") for n in range(callers)),
        invoker.invoke("a", shared, request_id="req-shared"),
    )
    assert [r.payload for r in results] == [
        *({"n": n, "request_id": f"req-{n}", "table": "AB"[n % 2]} for n in range(callers)),
        {"n": -1, "request_id": "req-shared", "table": "A"},
    ]
    assert events == [{"n": n} for n in range(callers)]
    assert shared == {"n": -1}


@pytest.mark.parametrize("isolation", MODES)
async def test_timeouts_of_calls_batched_with_quick_ones(make_invoker: MakeInvoker, isolation: str) -> None:
    """One loop turn's calls share a thread in thread mode; the one that runs past its function timeout
    or the caller's deadline gets its own answer, and the quick ones theirs."""
    invoker = make_invoker({"fn": probe("sleep", timeout=0.5)}, isolation=isolation)
    await warm(invoker, "fn")
    results = await asyncio.gather(
        invoker.invoke("fn", {"seconds": 0}, request_id="quick-1"),
        invoker.invoke("fn", {"seconds": 2}, request_id="past-timeout"),
        invoker.invoke("fn", {"seconds": 0}, request_id="quick-2"),
        invoker.invoke("fn", {"seconds": 2}, request_id="past-deadline", deadline_s=0.2),
        invoker.invoke("fn", {"seconds": 0}, request_id="quick-3"),
    )
    assert [(r.payload, error_type(r), r.integration_timeout) for r in results] == [
        ({"slept": 0}, None, False),
        (None, "Sandbox.Timedout", False),
        ({"slept": 0}, None, False),
        (None, None, True),
        ({"slept": 0}, None, False),
    ]
    assert (await invoker.invoke("fn", {"seconds": 0}, request_id="after")).payload == {"slept": 0}


@pytest.mark.parametrize("isolation", MODES)
async def test_reserved_concurrency_bounds_invocations_in_flight_and_throttles_past_it(
    make_invoker: MakeInvoker, isolation: str
) -> None:
    """Lambda's ReservedConcurrentExecutions: that many invocations at once; one more is refused with
    TooManyRequestsException (Invoke's 429), which API Gateway answers with a 500."""
    invoker = make_invoker({"fn": probe("overlap", reserved_concurrency=2)}, isolation=isolation)
    event = {"key": f"reserved-2-{isolation}", "seconds": 0.2}
    results = await asyncio.gather(*(invoker.invoke("fn", event, request_id=f"r{i}") for i in range(8)))
    assert [r.status_code for r in results] == [200, 200] + [429] * 6
    assert [r.payload for r in results[:2]] in ([1, 2], [2, 2], [1, 1], [2, 1])
    assert {error_type(r) for r in results[2:]} == {"TooManyRequestsException"}
    after = await invoker.invoke("fn", event, request_id="after")
    assert after.status_code == 200


async def test_without_reserved_concurrency_the_account_limit_applies(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker({"fn": probe("sleep", timeout=10)})
    sandbox = invoker.sandbox("fn")
    sandbox.limit = 3  # the account's 1,000, scaled down for the test
    results = await asyncio.gather(
        *(invoker.invoke("fn", {"seconds": 0.1}, request_id=f"r{i}") for i in range(5))
    )
    assert [r.status_code for r in results] == [200, 200, 200, 429, 429]
    assert results[3].error == {
        "errorType": "TooManyRequestsException",
        "errorMessage": "Rate Exceeded.",
        "Reason": "ConcurrentInvocationLimitExceeded",
        "Type": "User",
    }


async def test_a_caller_that_gives_up_frees_its_slot_in_process(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker({"fn": probe("sleep", reserved_concurrency=1, timeout=10)})
    running = asyncio.create_task(invoker.invoke("fn", {"seconds": 0.3}, request_id="running"))
    await asyncio.sleep(0.05)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert (await invoker.invoke("fn", {"seconds": 0}, request_id="next")).payload == {"slept": 0}
