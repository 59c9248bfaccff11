"""Node.js functions through the invoker: real ``node`` execution environments speaking the Runtime
API to the gateway's loop (handlers in ``tests/runtime/handlers/node/``).

Expected payloads are the ones Lambda's Node.js runtime gives (its runtime interface client's
``Errors.js`` / ``UserFunction.js`` / ``CallbackContext.js`` behaviour): ``{errorType, errorMessage,
trace}``, ``Runtime.*`` types for the runtime's own errors, ``Runtime.ExitError`` /
``Sandbox.Timedout`` / ``Runtime.OutOfMemory`` from the platform.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import orjson
import pytest

from gatehold.runtime import LambdaInvoker, nodejs
from gatehold.runtime.context import FunctionSpec
from gatehold.runtime.environment import PoolEvents
from gatehold.runtime.invoker import function_specs
from gatehold.runtime.nodejs import find_node
from gatehold.runtime.pool import FunctionPool
from gatehold.runtime.runtime_api import FD_VARIABLE, RuntimeApiEnvironment
from tests.runtime.conftest import MakeInvoker
from tests.runtime.support import HERE, error_type, load

pytestmark = pytest.mark.skipif(find_node() is None, reason="Node.js is not installed")

CJS = "handlers/node/cjs"


def cjs(export: str, **options: Any) -> dict[str, Any]:
    return {"handler": f"index.{export}", "code_path": CJS, "runtime": "nodejs20.x", **options}


def pool(invoker: LambdaInvoker, name: str) -> FunctionPool:
    sandbox = invoker.sandbox(name)
    assert isinstance(sandbox, FunctionPool)  # a Node.js function always runs in environments
    return sandbox


async def invoke(invoker: LambdaInvoker, name: str, event: Any = None, request_id: str = "req-1") -> Any:
    return await invoker.invoke(name, {} if event is None else event, request_id=request_id)


@pytest.mark.parametrize(
    ("export", "payload"),
    [
        pytest.param("promise", {"via": "promise"}, id="returns-a-promise"),
        pytest.param("callback", {"via": "callback"}, id="callback"),
        pytest.param("succeed", {"via": "succeed"}, id="context-succeed"),
        pytest.param("done", {"via": "done"}, id="context-done"),
        pytest.param("syncReturn", None, id="sync-handler-without-callback-answers-null"),
        pytest.param("nested.deeper.handler", "nested export", id="nested-export"),
    ],
)
async def test_handler_styles(make_invoker: MakeInvoker, export: str, payload: Any) -> None:
    invoker = make_invoker({"fn": cjs(export)})
    result = await invoke(invoker, "fn")
    assert (result.error, result.payload) == (None, payload)


@pytest.mark.parametrize(
    ("export", "fired"),
    [
        pytest.param("callbackWaits", True, id="waits-for-the-event-loop-to-empty"),
        pytest.param("callbackNoWait", False, id="callbackWaitsForEmptyEventLoop-false"),
    ],
)
async def test_a_callbacks_result_is_sent_when_the_event_loop_empties_unless_told_not_to_wait(
    make_invoker: MakeInvoker, export: str, fired: bool
) -> None:
    invoker = make_invoker({"fn": cjs(export)})
    assert (await invoke(invoker, "fn")).payload == {"fired": fired}


@pytest.mark.parametrize(
    ("handler", "code_path", "payload"),
    [
        pytest.param("index.handler", "handlers/node/esm", {"greeting": "hello from an ES module"}, id="mjs"),
        pytest.param("app.handler", "handlers/node/esm-type", {"module": "esm"}, id="type-module-js"),
        pytest.param(
            "src/handlers/app.handler",
            "handlers/node/nested",
            {"file": "src/handlers/app.js"},
            id="nested-path",
        ),
    ],
)
async def test_modules_are_found_as_lambda_finds_them(
    make_invoker: MakeInvoker, handler: str, code_path: str, payload: dict[str, Any]
) -> None:
    invoker = make_invoker({"fn": {"handler": handler, "code_path": code_path, "runtime": "nodejs22.x"}})
    result = await invoke(invoker, "fn", request_id="esm-1")
    assert result.error is None
    assert {k: v for k, v in result.payload.items() if k != "requestId"} == payload


async def test_the_context_object(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker({"probe": cjs("context", memory_size=256, timeout=7)}, region="eu-west-1")
    result = await invoke(invoker, "probe", request_id="8f5e1c52-0000-4000-8000-000000000001")
    ctx = result.payload
    assert ctx["awsRequestId"] == "8f5e1c52-0000-4000-8000-000000000001"
    assert ctx["functionName"] == "probe"
    assert ctx["functionVersion"] == "$LATEST"
    assert ctx["memoryLimitInMB"] == "256"  # a string, as Lambda's runtime reads it from the environment
    assert ctx["invokedFunctionArn"] == "arn:aws:lambda:eu-west-1:123456789012:function:probe"
    assert ctx["logGroupName"] == "/aws/lambda/probe"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", ctx["logStreamName"])
    assert 0 < ctx["remaining"] <= 7000
    assert ctx["callbackWaitsForEmptyEventLoop"] is True
    assert (ctx["identity"], ctx["clientContext"]) == ("undefined", "undefined")
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Sampled=0", ctx["traceId"])
    assert ctx["cwd"] == str((HERE / CJS).resolve())  # Lambda's working directory is the task root


async def test_lambdas_environment_variables(make_invoker: MakeInvoker) -> None:
    names = [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "_HANDLER",
        "LAMBDA_TASK_ROOT",
        "TZ",
        "OWN",
    ]
    invoker = make_invoker({"env-probe": cjs("env", environment={"OWN": "mine"})})
    result = await invoke(invoker, "env-probe", {"names": [*names, "AWS_LAMBDA_RUNTIME_API", "NODE_PATH"]})
    env = result.payload
    assert {name: env[name] for name in names} == {
        "AWS_LAMBDA_FUNCTION_NAME": "env-probe",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/env-probe",
        "AWS_REGION": "us-east-1",
        "AWS_EXECUTION_ENV": "AWS_Lambda_nodejs20.x",
        "_HANDLER": "index.env",
        "LAMBDA_TASK_ROOT": str((HERE / CJS).resolve()),
        "TZ": ":UTC",
        "OWN": "mine",
    }
    assert re.fullmatch(r"127\.0\.0\.1:\d+", env["AWS_LAMBDA_RUNTIME_API"])
    assert env["NODE_PATH"].endswith(str((HERE / CJS).resolve()))


async def test_console_lines_are_written_as_lambdas_node_runtime_writes_them(
    make_invoker: MakeInvoker, capfd: pytest.CaptureFixture[str]
) -> None:
    invoker = make_invoker({"talker": cjs("logs")})
    assert (await invoke(invoker, "talker", request_id="log-req-1")).payload == "logged"
    out = capfd.readouterr().out
    stamp = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"
    lines = [line for line in out.split("\n") if "log-req-1" in line]
    assert len(lines) == 3
    assert re.fullmatch(stamp + r"\tlog-req-1\tINFO\thello from talker \{ n: 1 \}", lines[0])
    assert re.fullmatch(stamp + r"\tlog-req-1\tWARN\ttwo\rlines", lines[1])  # one line: \n becomes \r
    assert re.fullmatch(stamp + r"\tlog-req-1\tERROR\tlogged, not thrown", lines[2])


async def test_a_warm_environment_keeps_module_state_and_is_reused(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker({"count": cjs("counter")})
    results = [await invoke(invoker, "count", request_id=f"r{i}") for i in range(5)]
    assert [r.payload["count"] for r in results] == [1, 2, 3, 4, 5]
    assert len({r.payload["pid"] for r in results}) == 1


async def test_reserved_concurrency_bounds_environments_and_throttles_past_it(
    make_invoker: MakeInvoker,
) -> None:
    invoker = make_invoker({"slow": cjs("promise", reserved_concurrency=3)})
    results = await asyncio.gather(*(invoke(invoker, "slow", request_id=f"c{i}") for i in range(4)))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 200, 200, 429]  # the fourth in flight: TooManyRequestsException
    assert [r.payload for r in results if r.status_code == 200] == [{"via": "promise"}] * 3
    assert 1 <= len(pool(invoker, "slow").environments) <= 3
    more = await asyncio.gather(*(invoke(invoker, "slow", request_id=f"d{i}") for i in range(3)))
    assert [r.payload for r in more] == [{"via": "promise"}] * 3


async def test_calls_batched_to_one_environment_each_get_their_own_context(
    make_invoker: MakeInvoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quick function's concurrent calls go out in batches (Gatehold's extension of the Runtime
    API); each still runs alone, with its own request id, trace id and deadline."""
    sizes: list[int] = []
    submit = RuntimeApiEnvironment.submit

    def recording(self: RuntimeApiEnvironment, calls: list[Any]) -> None:
        sizes.append(len(calls))
        submit(self, calls)

    monkeypatch.setattr(RuntimeApiEnvironment, "submit", recording)
    invoker = make_invoker({"fn": cjs("context", timeout=30)})
    await invoke(invoker, "fn", request_id="warm")  # a call that answered quickly makes it quick
    for _ in range(20):
        results = await asyncio.gather(*(invoke(invoker, "fn", request_id=f"b{i}") for i in range(40)))
        if max(sizes) > 1:
            break
    assert max(sizes) > 1
    assert [r.payload["awsRequestId"] for r in results] == [f"b{i}" for i in range(40)]
    assert len({r.payload["traceId"] for r in results}) == 40
    assert all(0 < r.payload["remaining"] <= 30_000 for r in results)


async def test_gateholds_bootstrap_speaks_the_plain_runtime_api_over_tcp_too() -> None:
    """Without the descriptor Gatehold passes, the bootstrap is a plain runtime interface client on
    AWS_LAMBDA_RUNTIME_API (TCP), one invocation per GET …/next."""
    node = find_node()
    assert node is not None
    spec = function_specs(load({"fn": cjs("context")}, isolation="process"))["fn"]
    launched: list[RuntimeApiEnvironment] = []

    def start(
        spec: FunctionSpec, events: PoolEvents, loop: asyncio.AbstractEventLoop, generation: int
    ) -> Any:
        argv = ["/usr/bin/env", "-u", FD_VARIABLE, *nodejs.node_argv(node, spec.memory_size)]
        env = RuntimeApiEnvironment(spec, events, loop, generation, argv, nodejs.node_environment(spec))
        launched.append(env)
        return env

    pool = FunctionPool(spec, start)
    try:
        outcomes = await asyncio.gather(*(pool.invoke({}, f"t{i}", None) for i in range(10)))
        ids = [orjson.loads(outcome[0])["awsRequestId"] for outcome in outcomes if outcome and outcome[0]]
        assert ids == [f"t{i}" for i in range(10)]
        # each spoke over an accepted TCP connection besides the Unix socket it was given
        assert {len(env._conns) for env in launched if env.state in ("idle", "busy")} == {2}
    finally:
        await pool.aclose()


@pytest.mark.parametrize(
    ("export", "expected"),
    [
        pytest.param(
            "throws",
            {"errorType": "TypeError", "errorMessage": "bad input", "trace0": "TypeError: bad input"},
            id="async-throws",
        ),
        pytest.param(
            "throwsString",
            {"errorType": "string", "errorMessage": "just a string", "trace": []},
            id="throws-a-non-error-value",
        ),
        pytest.param(
            "callbackError",
            {"errorType": "RangeError", "errorMessage": "out of range", "trace0": "RangeError: out of range"},
            id="callback-error",
        ),
        pytest.param(
            "fail",
            {
                "errorType": "Error",
                "errorMessage": "failed via context",
                "trace0": "Error: failed via context",
            },
            id="context-fail",
        ),
        pytest.param(
            "failHandled",
            {"errorType": "string", "errorMessage": "handled", "trace": []},
            id="context-fail-empty",
        ),
        pytest.param(
            "doneError",
            {"errorType": "string", "errorMessage": "a string error", "trace": []},
            id="context-done-err",
        ),
        pytest.param(
            "circular",
            {"errorType": "Error", "errorMessage": "Unable to stringify response body"},
            id="result-not-json",
        ),
        pytest.param(
            "neverSettles",
            {
                "errorType": "Runtime.NodeJsExit",
                "errorMessage": "The Lambda runtime client detected an unexpected Node.js exit code. This is"
                " most commonly caused by a Promise that was never settled. For more information, see"
                " https://nodejs.org/docs/latest/api/process.html#exit-codes",
            },
            id="promise-never-settled",
        ),
        pytest.param(
            "timerThrows",
            {"errorType": "Error", "errorMessage": "thrown in a timer", "trace0": "Error: thrown in a timer"},
            id="uncaught-exception-in-a-timer",
        ),
        pytest.param(
            "rejects",
            {"errorType": "Runtime.UnhandledPromiseRejection", "errorMessage": "Error: nobody caught me"},
            id="unhandled-rejection",
        ),
    ],
)
async def test_function_errors_as_lambdas_node_runtime_reports_them(
    make_invoker: MakeInvoker, export: str, expected: dict[str, Any]
) -> None:
    invoker = make_invoker({"fn": cjs(export)})
    result = await invoke(invoker, "fn")
    assert result.payload is None
    error = dict(result.error)
    if "trace0" in expected:
        expected = dict(expected)
        assert error["trace"][0] == expected.pop("trace0")
        assert any("index.js" in frame for frame in error["trace"][1:])
    if "trace" not in expected:
        error.pop("trace", None)
    assert error == expected
    # the function still answers (a fresh environment after an uncaught exception or rejection)
    assert error_type(await invoke(invoker, "fn", request_id="again")) == expected["errorType"]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        pytest.param(
            {"status": 3}, "RequestId: req-1 Error: Runtime exited with error: exit status 3", id="exit-3"
        ),
        pytest.param(
            {"status": 0}, "RequestId: req-1 Error: Runtime exited without providing a reason", id="exit-0"
        ),
    ],
)
async def test_process_exit_is_a_runtime_exit_error_and_a_fresh_environment(
    make_invoker: MakeInvoker, event: dict[str, int], message: str
) -> None:
    invoker = make_invoker({"quits": cjs("exit"), "count": cjs("counter")})
    result = await invoke(invoker, "quits", event)
    assert result.error == {"errorType": "Runtime.ExitError", "errorMessage": message}
    assert (await invoke(invoker, "count")).payload["count"] == 1


async def test_a_busy_loop_is_killed_at_the_timeout(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker({"spin": cjs("spin", timeout=1), "count": cjs("counter")})
    result = await invoke(invoker, "spin", request_id="spin-1")
    assert result.error["errorType"] == "Sandbox.Timedout"
    assert re.fullmatch(r"\S+Z spin-1 Task timed out after 1\.\d\d seconds", result.error["errorMessage"])
    assert (await invoke(invoker, "count")).payload["count"] == 1


async def test_memory_past_memory_size_is_runtime_out_of_memory(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker({"hog": cjs("hog", memory_size=128, timeout=30)})
    result = await invoke(invoker, "hog", request_id="hog-1")
    assert result.error == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": "RequestId: hog-1 Error: Runtime exited with error: signal: killed",
    }


@pytest.mark.parametrize(
    ("function", "error_type_", "message"),
    [
        pytest.param(
            {"handler": "missing.handler", "code_path": CJS},
            "Runtime.ImportModuleError",
            "Error: Cannot find module 'missing'\nRequire stack:\n- ",
            id="module-not-found",
        ),
        pytest.param(
            {"handler": "index.nothing", "code_path": CJS},
            "Runtime.HandlerNotFound",
            "index.nothing is undefined or not exported",
            id="handler-not-exported",
        ),
        pytest.param(
            {"handler": "index.notAFunction", "code_path": CJS},
            "Runtime.HandlerNotFound",
            "index.notAFunction is not a function",
            id="export-not-a-function",
        ),
        pytest.param(
            {"handler": "index.handler", "code_path": "handlers/node/init-fails"},
            "Error",
            "cannot start: missing configuration",
            id="init-throws",
        ),
        pytest.param(
            {"handler": "index.handler", "code_path": "handlers/node/syntax"},
            "Runtime.UserCodeSyntaxError",
            "SyntaxError: ",
            id="syntax-error",
        ),
    ],
)
async def test_init_errors_answer_every_invocation_each_in_a_fresh_environment(
    make_invoker: MakeInvoker, function: dict[str, Any], error_type_: str, message: str
) -> None:
    invoker = make_invoker({"fn": {**function, "runtime": "nodejs20.x"}})
    for request_id in ("i1", "i2"):
        result = await invoke(invoker, "fn", request_id=request_id)
        assert result.error["errorType"] == error_type_
        assert result.error["errorMessage"].startswith(message)
        assert isinstance(result.error["trace"], list)
    assert pool(invoker, "fn").environments == []  # each ended after reporting its init error


async def test_large_payloads_both_ways_and_lambdas_6_mb_limit(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker({"echo": cjs("echo"), "large": cjs("large", memory_size=512)})
    event = {"blob": "e" * (5 << 20)}
    assert (await invoke(invoker, "echo", event)).payload == event
    served = await invoke(invoker, "large", {"kb": 5 * 1024})
    assert len(served.payload) == 5 << 20
    refused = await invoke(invoker, "large", {"kb": 7 * 1024})
    assert refused.error == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
    }
    assert len((await invoke(invoker, "large", {"kb": 1})).payload) == 1024  # the environment goes on
