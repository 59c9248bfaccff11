"""Run the stack: gateway, identity provider, single-page app and admin endpoints, one port each.

All servers share one event loop and one signal handler: SIGINT/SIGTERM stop accepting, let
in-flight requests finish (bounded by ``graceful_timeout``), then close the Lambda runtime. A second
SIGINT forces the exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

log = logging.getLogger("gatehold.server")

ASGIApp = Callable[..., Any]


@dataclass(frozen=True)
class Listener:
    """One app on one port. ``name`` is what the banner calls it."""

    name: str
    app: ASGIApp
    port: int
    lifespan: str = "auto"


@dataclass
class StackOptions:
    host: str = "127.0.0.1"
    gateway_port: int = 8000
    idp_port: int = 9000
    spa_port: int = 3000
    admin_port: int | None = 9100
    data_dir: Path = field(default_factory=lambda: Path(".gatehold"))
    public_url: str | None = None
    database_url: str | None = None
    redis_url: str | None = None
    workers: int = 1
    graceful_timeout: float = 10.0

    @property
    def idp_url(self) -> str:
        return (self.public_url or f"http://localhost:{self.idp_port}").rstrip("/")

    @property
    def gateway_url(self) -> str:
        return f"http://localhost:{self.gateway_port}"

    @property
    def spa_url(self) -> str:
        return f"http://localhost:{self.spa_port}"

    def variables(self) -> dict[str, str]:
        """The ``${name}`` placeholders that configuration files may use."""
        return {
            "idp_url": self.idp_url,
            "issuer": self.idp_url + "/",
            "gateway_url": self.gateway_url,
            "spa_url": self.spa_url,
            "data_dir": str(self.data_dir.resolve()),
        }


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :func:`serve`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve(
    listeners: Iterable[Listener],
    *,
    host: str,
    on_started: Callable[[], None] | None = None,
    on_shutdown: Callable[[], Any] | None = None,
    graceful_timeout: float = 10.0,
) -> None:
    """Serve every listener until SIGINT/SIGTERM; then shut down gracefully."""
    servers = [
        _Server(
            uvicorn.Config(
                lst.app,
                host=host,
                port=lst.port,
                lifespan=lst.lifespan,  # type: ignore[arg-type]
                log_level="warning",
                access_log=False,
                server_header=False,
                timeout_graceful_shutdown=int(graceful_timeout),
                loop="none",
                http="auto",
            )
        )
        for lst in listeners
    ]
    loop = asyncio.get_running_loop()

    def stop(sig: int) -> None:
        for s in servers:
            if s.should_exit and sig == signal.SIGINT:
                s.force_exit = True
            s.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop, sig)

    tasks = [asyncio.create_task(s.serve()) for s in servers]

    async def announce() -> None:
        while not all(s.started for s in servers):
            if any(t.done() for t in tasks):
                return
            await asyncio.sleep(0.02)
        if on_started is not None:
            on_started()

    announcer = asyncio.create_task(announce())
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in done:
            if t.exception() is not None:
                for s in servers:
                    s.should_exit = True
                await asyncio.gather(*tasks, return_exceptions=True)
                raise t.exception()  # type: ignore[misc]
        await asyncio.gather(*tasks)
    finally:
        announcer.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        if on_shutdown is not None:
            result = on_shutdown()
            if asyncio.iscoroutine(result):
                await result
