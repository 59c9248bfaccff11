"""Process isolation: crashed and timed-out workers are replaced; aclose leaves no children
(gatehold.runtime.processes)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from gatehold.runtime.processes import ProcessPool
from tests.runtime.conftest import MakeInvoker
from tests.runtime.support import error_type, pid_alive, probe


def _pool(invoker: object, name: str) -> ProcessPool:
    pool = invoker.sandbox(name)  # type: ignore[attr-defined]
    assert isinstance(pool, ProcessPool)
    return pool


@pytest.mark.parametrize(
    ("handler", "event", "message"),
    [
        pytest.param("exit_now", {"code": 1}, "Runtime exited with error: exit status 1", id="os-exit-1"),
        pytest.param("exit_now", {"code": 3}, "Runtime exited with error: exit status 3", id="os-exit-3"),
        pytest.param("segfault", {}, "Runtime exited with error: signal: segmentation fault", id="segfault"),
    ],
)
async def test_crash_returns_exit_error_and_the_next_call_works(
    make_invoker: MakeInvoker, handler: str, event: dict[str, int], message: str
) -> None:
    invoker = make_invoker(
        {"crash": probe(handler, reserved_concurrency=1), "counter": probe("counter")},
        isolation="process",
    )
    result = await invoker.invoke("crash", event, request_id="req-crash")
    assert result.error == {
        "errorMessage": f"RequestId: req-crash Error: {message}",
        "errorType": "Runtime.ExitError",
    }
    assert _pool(invoker, "crash").workers == []
    # the same function starts a fresh worker; other functions never noticed
    again = await invoker.invoke("crash", {"code": 0} if handler == "exit_now" else {}, request_id="req-2")
    assert error_type(again) == "Runtime.ExitError"
    assert (await invoker.invoke("counter", {}, request_id="req-3")).payload["count"] == 1


async def test_crash_does_not_disturb_concurrent_requests(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker({"fn": probe("sleep_or_exit", reserved_concurrency=2)}, isolation="process")
    slow = asyncio.ensure_future(invoker.invoke("fn", {"seconds": 0.5}, request_id="slow"))
    crashed = await invoker.invoke("fn", {"exit": True}, request_id="crash")
    assert error_type(crashed) == "Runtime.ExitError"
    assert (await slow).payload == {"slept": 0.5}


async def test_crashed_worker_is_replaced_while_others_keep_serving(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker({"counter": probe("counter", reserved_concurrency=2)}, isolation="process")
    first = await invoker.invoke("counter", {}, request_id="r1")
    pid = first.payload["pid"]
    # kill the warm worker between invocations, as the OOM killer might
    [worker] = _pool(invoker, "counter").workers
    worker.proc.kill()
    await worker.proc.wait()
    after = await invoker.invoke("counter", {}, request_id="r2")
    assert after.error is None
    assert after.payload["pid"] != pid
    assert after.payload["count"] == 1  # a cold start: module state is new


async def test_timed_out_worker_is_killed_and_replaced(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker({"slow": probe("sleep", timeout=0.5, reserved_concurrency=1)}, isolation="process")
    pool = _pool(invoker, "slow")
    await invoker.invoke("slow", {"seconds": 0}, request_id="warm")
    [worker] = pool.workers
    result = await invoker.invoke("slow", {"seconds": 30}, request_id="stuck")
    assert error_type(result) == "Sandbox.Timedout"
    assert not pid_alive(worker.pid)
    assert pool.workers == []
    ok = await invoker.invoke("slow", {"seconds": 0}, request_id="next")
    assert ok.payload == {"slept": 0}
    [replacement] = pool.workers
    assert replacement.pid != worker.pid


async def test_workers_start_lazily_up_to_reserved_concurrency(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker({"slow": probe("sleep", reserved_concurrency=2)}, isolation="process")
    pool = _pool(invoker, "slow")
    assert pool.workers == []
    results = await asyncio.gather(
        *(invoker.invoke("slow", {"seconds": 0.3}, request_id=f"r{i}") for i in range(4))
    )
    assert [r.payload for r in results] == [{"slept": 0.3}] * 4
    assert len(pool.workers) == 2


async def test_aclose_leaves_no_child_processes(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker(
        {"slow": probe("sleep", reserved_concurrency=3), "counter": probe("counter")}, isolation="process"
    )
    busy = asyncio.ensure_future(invoker.invoke("slow", {"seconds": 30}, request_id="busy"))
    await asyncio.gather(*(invoker.invoke("slow", {"seconds": 0.2}, request_id=f"r{i}") for i in range(2)))
    await invoker.invoke("counter", {}, request_id="c")
    pids = [w.pid for name in ("slow", "counter") for w in _pool(invoker, name).workers]
    assert len(pids) == 4
    assert all(pid_alive(pid) for pid in pids)
    await invoker.aclose()
    assert not any(pid_alive(pid) for pid in pids)
    # the invocation that was still running when the runtime closed ends as a crashed one
    stopped = await busy
    assert error_type(stopped) == "Runtime.ExitError"


_GATEWAY_DIES = """
import asyncio, os, sys
from tests.runtime.support import load, probe
from gatehold.runtime import build_invoker

async def main():
    invoker = build_invoker(load({"slow": probe("sleep", timeout=60)}, isolation="process"))
    asyncio.ensure_future(invoker.invoke("slow", {"seconds": 50}, request_id="busy"))
    while not invoker.sandbox("slow").workers:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    print(invoker.sandbox("slow").workers[0].pid, flush=True)
    os._exit(0)  # the gateway dies without closing anything

asyncio.run(main())
"""


async def test_busy_worker_dies_with_the_gateway() -> None:
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
