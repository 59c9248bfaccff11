"""Helpers for the runtime tests: a LoadedConfig from a `functions:` mapping; the gateway served
on loopback for a configuration."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from gatehold.config import LoadedConfig, parse_config

HERE = Path(__file__).parent


def load(functions: dict[str, Any], *, isolation: str = "in-process", **gateway: Any) -> LoadedConfig:
    """A LoadedConfig as if read from tests/runtime/gatehold.yaml (so code_path is relative to here)."""
    text = yaml.safe_dump({"functions": functions, "gateway": {"isolation": isolation, **gateway}})
    config, lines = parse_config(text, file=str(HERE / "gatehold.yaml"))
    return LoadedConfig(config=config, path=HERE / "gatehold.yaml", lines=lines)


def probe(handler: str, **options: Any) -> dict[str, Any]:
    """A function running ``tests/runtime/handlers/rt_probe.<handler>``."""
    return {"handler": f"rt_probe.{handler}", "code_path": "handlers", **options}


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def error_type(result: Any) -> str | None:
    """``errorType`` of an InvocationResult's function error, or None."""
    return None if result.error is None else str(result.error["errorType"])


@contextlib.asynccontextmanager
async def served(functions: dict[str, Any], apis: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway's own HTTP server on a loopback port for ``functions`` and ``apis`` (isolation:
    the default), and a client of it; everything stopped after."""
    from gatehold.gateway.app import GatewayApp
    from gatehold.gateway.http1 import GatewayHttpServer
    from gatehold.runtime import build_invoker

    text = yaml.safe_dump({"functions": functions, "apis": apis})
    config, lines = parse_config(text, file=str(HERE / "gatehold.yaml"))
    loaded = LoadedConfig(config=config, path=HERE / "gatehold.yaml", lines=lines)
    invoker = build_invoker(loaded)
    server = GatewayHttpServer(GatewayApp(loaded, invoker))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not task.done()
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=60) as c:
            yield c
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 15)
        sock.close()
        await invoker.aclose()
