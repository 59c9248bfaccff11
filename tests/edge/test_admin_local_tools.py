"""The admin port's local tools, /explain (recent requests' headers and tokens) and /clock (the
stack's time), answer clients on this machine only: the admin port's /metrics and /readyz are made
to be reached across a network (Prometheus, a load balancer's health checks), those two are not."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from gatehold.admin import create_admin_app
from gatehold.clock import SharedClock
from tests.stackctl import free_port


def _address_of_this_host() -> str | None:
    """An address of this machine that is not loopback (the one a route to the outside leaves by)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


async def _explain(request_id: str) -> Mapping[str, Any] | None:
    return {"requestId": request_id, "request": {"headers": {"authorization": "Bearer secret"}}}


@pytest.fixture
async def admin_port(tmp_path: Path) -> AsyncIterator[int]:
    port = free_port()
    clock = SharedClock.create(tmp_path / "clock")
    app = create_admin_app(ready=lambda: True, clock=clock, explain=_explain)
    server = uvicorn.Server(
        uvicorn.Config(app, host="0.0.0.0", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    yield port
    server.should_exit = True
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, 10)
    clock.close()


@pytest.mark.parametrize("path", ["/explain/abc", "/clock"])
async def test_local_tools_answer_loopback_clients(admin_port: int, path: str) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{admin_port}{path}")
    assert answer.status_code == 200


@pytest.mark.parametrize("path", ["/explain/abc", "/clock"])
async def test_local_tools_refuse_other_clients_and_metrics_do_not(admin_port: int, path: str) -> None:
    address = _address_of_this_host()
    if address is None:
        pytest.skip("this machine has no address besides loopback to connect from")
    async with httpx.AsyncClient() as client:
        refused = await client.get(f"http://{address}:{admin_port}{path}")
        advanced = await client.post(f"http://{address}:{admin_port}/clock/advance", json={"seconds": 60})
        metrics = await client.get(f"http://{address}:{admin_port}/metrics")
    assert refused.status_code == 403
    assert refused.json() == {
        "message": "Forbidden: /explain and /clock answer clients on this machine (loopback) only"
    }
    assert b"secret" not in refused.content
    assert advanced.status_code == 403
    assert metrics.status_code == 200
