"""Process isolation, the default: what a handler does to its execution environment stays there
(gatehold.runtime.pool, python_env, worker). Real worker processes; no timing assertions — where
"meanwhile" matters, the order in which answers arrive is asserted instead."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from gatehold.runtime import InvocationResult, LambdaInvoker
from gatehold.runtime.pool import FunctionPool
from tests.runtime.conftest import MakeInvoker
from tests.runtime.support import error_type, pid_alive, probe


def _pool(invoker: LambdaInvoker, name: str) -> FunctionPool:
    pool = invoker.sandbox(name)
    assert isinstance(pool, FunctionPool)
    return pool


def _pids(invoker: LambdaInvoker, name: str) -> list[int]:
    return [env.pid for env in _pool(invoker, name).environments]


def _rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


# -- crashes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "event", "message"),
    [
        pytest.param("exit_now", {"code": 1}, "Runtime exited with error: exit status 1", id="os-exit-1"),
        pytest.param("exit_now", {"code": 3}, "Runtime exited with error: exit status 3", id="os-exit-3"),
        pytest.param("exit_now", {"code": 0}, "Runtime exited without providing a reason", id="os-exit-0"),
        pytest.param("segfault", {}, "Runtime exited with error: signal: segmentation fault", id="segfault"),
        pytest.param("sys_exit", {"code": 2}, "Runtime exited with error: exit status 2", id="sys-exit-2"),
        pytest.param("sys_exit", {}, "Runtime exited without providing a reason", id="sys-exit"),
        pytest.param(
            "kill_self", {"signal": "SIGTERM"}, "Runtime exited with error: signal: terminated", id="sigterm"
        ),
        pytest.param(
            "kill_self", {"signal": "SIGABRT"}, "Runtime exited with error: signal: aborted", id="sigabrt"
        ),
    ],
)
async def test_a_crash_is_lambdas_exit_error_and_the_next_call_gets_a_fresh_environment(
    make_invoker: MakeInvoker,
    caplog: pytest.LogCaptureFixture,
    handler: str,
    event: dict[str, object],
    message: str,
) -> None:
    invoker = make_invoker({"crash": probe(handler), "counter": probe("counter")}, isolation="process")
    before = await invoker.invoke("counter", {}, request_id="before")
    with caplog.at_level(logging.WARNING, logger="gatehold.lambda"):
        result = await invoker.invoke("crash", event, request_id="req-crash")
    assert result.error == {
        "errorMessage": f"RequestId: req-crash Error: {message}",
        "errorType": "Runtime.ExitError",
    }
    assert result.status_code == 200  # a function error: API Gateway's 502, not a refused invocation
    logged = [r.getMessage() for r in caplog.records]
    assert f"[ERROR] Runtime.ExitError: RequestId: req-crash Error: {message}" in logged
    assert any("ended" in line and "the next invocation gets a fresh one" in line for line in logged)
    # the function starts a fresh environment; other functions never noticed
    again = await invoker.invoke("crash", {"signal": "SIGTERM", "code": 1}, request_id="again")
    assert error_type(again) == "Runtime.ExitError"
    after = await invoker.invoke("counter", {}, request_id="after")
    assert (after.payload["pid"], after.payload["count"]) == (before.payload["pid"], 2)


async def test_kill_9_from_outside_mid_invocation_and_between_invocations(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker({"fn": probe("sleep", timeout=30)}, isolation="process")
    await invoker.invoke("fn", {"seconds": 0}, request_id="warm")
    [pid] = _pids(invoker, "fn")
    running = asyncio.ensure_future(invoker.invoke("fn", {"seconds": 20}, request_id="busy"))
    while not any(env.running for env in _pool(invoker, "fn").environments):
        await asyncio.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    result = await running
    assert result.error == {
        "errorMessage": "RequestId: busy Error: Runtime exited with error: signal: killed",
        "errorType": "Runtime.ExitError",
    }
    ok = await invoker.invoke("fn", {"seconds": 0}, request_id="next")
    assert ok.payload == {"slept": 0}
    [fresh] = _pids(invoker, "fn")
    assert fresh != pid
    os.kill(fresh, signal.SIGKILL)  # idle: nobody is waiting; the next call just starts another
    while fresh in _pids(invoker, "fn"):
        await asyncio.sleep(0.01)
    assert (await invoker.invoke("fn", {"seconds": 0}, request_id="last")).payload == {"slept": 0}


async def test_calls_batched_behind_a_crash_run_in_another_environment(make_invoker: MakeInvoker) -> None:
    """A quick function's calls of one loop turn share an environment; when one of them crashes, the
    ones after it never started, and are run elsewhere, not failed."""
    invoker = make_invoker({"fn": probe("sleep_or_exit")}, isolation="process")
    for i in range(5):
        assert (await invoker.invoke("fn", {"seconds": 0}, request_id=f"warm-{i}")).error is None
    assert _pool(invoker, "fn").quick
    results = await asyncio.gather(
        invoker.invoke("fn", {"seconds": 0}, request_id="first"),
        invoker.invoke("fn", {"exit": True}, request_id="crash"),
        *(invoker.invoke("fn", {"seconds": 0}, request_id=f"after-{i}") for i in range(5)),
    )
    assert [error_type(r) for r in results] == [None, "Runtime.ExitError", *([None] * 5)]
    assert [r.payload for r in results[2:]] == [{"slept": 0}] * 5


# -- timeouts ---------------------------------------------------------------------------------------


async def test_a_handler_holding_the_gil_is_killed_at_its_timeout_and_others_answer_meanwhile(
    make_invoker: MakeInvoker,
) -> None:
    invoker = make_invoker(
        {"stuck": probe("hold_gil", timeout=1), "counter": probe("counter")}, isolation="process"
    )
    await invoker.invoke("counter", {}, request_id="warm")
    order: list[str] = []

    async def call(name: str, request_id: str) -> InvocationResult:
        result = await invoker.invoke(name, {"seconds": 120}, request_id=request_id)
        order.append(request_id)
        return result

    stuck = asyncio.ensure_future(call("stuck", "stuck"))
    while not any(env.running for env in _pool(invoker, "stuck").environments):
        await asyncio.sleep(0.01)
    [stuck_pid] = _pids(invoker, "stuck")
    answers = [await call("counter", f"meanwhile-{i}") for i in range(20)]
    assert all(a.error is None for a in answers)
    result = await stuck
    assert order[-1] == "stuck"  # every other function's call came back while it was stuck
    assert error_type(result) == "Sandbox.Timedout"
    assert result.error is not None
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT[\d:.]+Z stuck Task timed out after 1\.\d\d seconds", result.error["errorMessage"]
    )
    assert not pid_alive(stuck_pid)
    # the next invocation gets a fresh environment (and is stuck again, until its own timeout)
    again = await invoker.invoke("stuck", {"seconds": 0}, request_id="again")
    assert again.error is None


async def test_the_caller_deadline_drops_a_call_still_waiting_for_an_environment(
    make_invoker: MakeInvoker, tmp_path: Path
) -> None:
    """Every environment busy: the next call waits in the function's queue; when its caller's deadline
    passes it is dropped and never runs (a synchronous invocation would not have been made)."""
    invoker = make_invoker({"fn": probe("mark", timeout=5)}, isolation="process")
    event = {"seconds": 0.5, "dir": str(tmp_path)}
    busy = [asyncio.ensure_future(invoker.invoke("fn", event, request_id=f"busy-{i}")) for i in range(8)]
    while sum(1 for env in _pool(invoker, "fn").environments if env.running) < 8:
        await asyncio.sleep(0.01)
    dropped = await invoker.invoke(
        "fn", {"seconds": 0, "dir": str(tmp_path)}, request_id="dropped", deadline_s=0.05
    )
    assert dropped.integration_timeout
    assert sorted(r.payload for r in await asyncio.gather(*busy)) == sorted(f"busy-{i}" for i in range(8))
    assert (await invoker.invoke("fn", {"seconds": 0, "dir": str(tmp_path)}, request_id="then")).error is None
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*(f"busy-{i}" for i in range(8)), "then"])


# -- memory ------------------------------------------------------------------------------------------


async def test_a_memory_blow_up_is_lambdas_out_of_memory_and_the_gateway_keeps_its_memory(
    make_invoker: MakeInvoker, caplog: pytest.LogCaptureFixture
) -> None:
    invoker = make_invoker(
        {"hog": probe("allocate", memory_size=128, timeout=30), "counter": probe("counter")},
        isolation="process",
    )
    assert (await invoker.invoke("hog", {"mb": 16}, request_id="small")).payload == 16
    gateway_before = _rss_mb(os.getpid())
    with caplog.at_level(logging.WARNING, logger="gatehold.lambda"):
        result = await invoker.invoke("hog", {"mb": 2048}, request_id="hog")
    assert result.error == {
        "errorMessage": "RequestId: hog Error: Runtime exited with error: signal: killed",
        "errorType": "Runtime.OutOfMemory",
    }
    assert any("past its memory size of 128 MB" in r.getMessage() for r in caplog.records)
    assert _rss_mb(os.getpid()) - gateway_before < 64  # the 2 GB were never the gateway's
    assert (await invoker.invoke("hog", {"mb": 16}, request_id="after")).payload == 16
    assert (await invoker.invoke("counter", {}, request_id="other")).error is None


# -- concurrency -------------------------------------------------------------------------------------


async def test_past_reserved_concurrency_is_lambdas_throttling_error(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker({"fn": probe("sleep", reserved_concurrency=2, timeout=10)}, isolation="process")
    results = await asyncio.gather(
        *(invoker.invoke("fn", {"seconds": 0.3}, request_id=f"r{i}") for i in range(5))
    )
    assert [r.status_code for r in results] == [200, 200, 429, 429, 429]
    assert results[2].error == {
        "errorType": "TooManyRequestsException",
        "errorMessage": "Rate Exceeded.",
        "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
        "Type": "User",
    }
    assert len(_pool(invoker, "fn").environments) <= 2
    assert (await invoker.invoke("fn", {"seconds": 0}, request_id="after")).payload == {"slept": 0}


async def test_a_flood_of_one_function_does_not_hold_up_another(make_invoker: MakeInvoker) -> None:
    """Function `slow` is flooded past its concurrency (its own queue fills, the rest are throttled);
    `counter` keeps answering while every one of `slow`'s environments is busy."""
    invoker = make_invoker(
        {"slow": probe("sleep", reserved_concurrency=4, timeout=10), "counter": probe("counter")},
        isolation="process",
    )
    await invoker.invoke("counter", {}, request_id="warm")
    order: list[str] = []

    async def flood(i: int) -> int:
        result = await invoker.invoke("slow", {"seconds": 1}, request_id=f"flood-{i}")
        order.append("slow")
        return result.status_code

    flooding = [asyncio.ensure_future(flood(i)) for i in range(200)]
    while sum(1 for env in _pool(invoker, "slow").environments if env.running) < 4:
        await asyncio.sleep(0.01)
    for i in range(10):
        assert (await invoker.invoke("counter", {}, request_id=f"c{i}")).error is None
        order.append("counter")
    statuses = await asyncio.gather(*flooding)
    assert sorted(statuses) == [200] * 4 + [429] * 196
    assert order[: 196 + 10].count("counter") == 10  # all ten answered before a slow call finished
    assert "counter" not in order[196 + 10 :]


async def test_calls_past_the_environments_wait_their_turn(make_invoker: MakeInvoker) -> None:
    """Without reserved concurrency a function has up to 8 environments and the account's 1,000
    invocations in flight: the calls past the environments wait in the function's queue."""
    invoker = make_invoker({"fn": probe("overlap", timeout=10)}, isolation="process")
    event = {"key": "queue", "seconds": 0.2}
    results = await asyncio.gather(*(invoker.invoke("fn", event, request_id=f"r{i}") for i in range(20)))
    assert all(r.error is None for r in results)
    assert len(_pool(invoker, "fn").environments) == 8


async def test_many_concurrent_callers_each_get_their_own_answer(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker(
        {"a": probe("whoami", environment={"TABLE": "A"}), "b": probe("whoami", environment={"TABLE": "B"})},
        isolation="process",
    )
    for name in ("a", "b"):
        for i in range(3):
            assert (await invoker.invoke(name, {"n": i}, request_id=f"warm-{i}")).error is None
    events = [{"n": n} for n in range(600)]
    results = await asyncio.gather(
        *(invoker.invoke("ab"[n % 2], events[n], request_id=f"req-{n}") for n in range(600))
    )
    assert [r.payload for r in results] == [
        {"n": n, "request_id": f"req-{n}", "table": "AB"[n % 2]} for n in range(600)
    ]
    assert events == [{"n": n} for n in range(600)]


# -- payloads ------------------------------------------------------------------------------------------


async def test_large_events_and_results_cross_the_channel(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker({"size": probe("event_size"), "big": probe("big_result")}, isolation="process")
    body = "b" * (8 << 20)
    sizes = await asyncio.gather(
        *(invoker.invoke("size", {"body": body}, request_id=f"e{i}") for i in range(3))
    )
    assert [r.payload for r in sizes] == [len(body)] * 3
    results = await asyncio.gather(
        *(invoker.invoke("big", {"bytes": 5 << 20}, request_id=f"r{i}") for i in range(3))
    )
    assert [len(r.payload["body"]) for r in results] == [5 << 20] * 3


@pytest.mark.parametrize("isolation", ["process", "in-process"])
async def test_a_result_past_6_mb_is_lambdas_response_size_error(
    make_invoker: MakeInvoker, isolation: str
) -> None:
    invoker = make_invoker({"big": probe("big_result")}, isolation=isolation)
    result = await invoker.invoke("big", {"bytes": 7 << 20}, request_id="r")
    assert result.error == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


# -- lifecycle -------------------------------------------------------------------------------------------


async def test_one_environment_per_function_is_started_with_the_invoker(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker({"a": probe("counter"), "b": probe("counter")}, isolation="process")
    assert len(_pool(invoker, "a").environments) == 1
    assert len(_pool(invoker, "b").environments) == 1
    first = await invoker.invoke("a", {}, request_id="first")
    assert first.payload == {"count": 1, "pid": _pids(invoker, "a")[0]}  # the one started beforehand


async def test_aclose_leaves_no_child_processes(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker(
        {"slow": probe("sleep", reserved_concurrency=3, timeout=60), "counter": probe("counter")},
        isolation="process",
    )
    busy = asyncio.ensure_future(invoker.invoke("slow", {"seconds": 30}, request_id="busy"))
    await asyncio.gather(*(invoker.invoke("slow", {"seconds": 0.2}, request_id=f"r{i}") for i in range(2)))
    await invoker.invoke("counter", {}, request_id="c")
    pids = _pids(invoker, "slow") + _pids(invoker, "counter")
    assert len(pids) == 4
    assert all(pid_alive(pid) for pid in pids)
    await invoker.aclose()
    assert not any(pid_alive(pid) for pid in pids)
    # the invocation that was still running when the runtime closed ends as a crashed one
    assert error_type(await busy) == "Runtime.ExitError"


_GATEWAY_DIES = """
import asyncio, os, sys
from tests.runtime.support import load, probe
from gatehold.runtime import build_invoker

async def main():
    invoker = build_invoker(load({"slow": probe("sleep", timeout=60)}, isolation="process"))
    asyncio.ensure_future(invoker.invoke("slow", {"seconds": 50}, request_id="busy"))
    pool = invoker.sandbox("slow")
    while not any(env.running for env in pool.environments):
        await asyncio.sleep(0.05)
    print(pool.environments[0].pid, flush=True)
    os._exit(0)  # the gateway dies without closing anything

asyncio.run(main())
"""


async def test_a_busy_environment_dies_with_the_gateway() -> None:
    root = Path(__file__).resolve().parents[2]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _GATEWAY_DIES, cwd=root, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    pid = int(out.split()[-1])
    for _ in range(100):  # the kernel delivers PR_SET_PDEATHSIG asynchronously
        if not pid_alive(pid):
            break
        await asyncio.sleep(0.05)
    assert not pid_alive(pid)
