"""Run the stack: gateway, identity provider, single-page app and admin endpoints, one port each.

All servers share one event loop and one signal handler: SIGINT/SIGTERM stop accepting, let
in-flight requests finish (bounded by ``graceful_timeout``), then close the Lambda runtime. A second
SIGINT forces the exit.

Everything runs on uvloop (:func:`run`). The gateway is served by its own HTTP/1.1 protocol
(:mod:`gatehold.gateway.http1`: httptools, no ASGI in between, one write per response), the other
listeners (identity provider, SPA, admin) by uvicorn with httptools. Both chosen by measurement
(BENCHMARKS.md, "Server choice"): the ASGI layer alone costs a bare hello-world ≈ 26 µs of CPU per
request, most of what an authorized gateway request is allowed to cost.

``workers > 1`` (``gatehold up --workers N``) runs the gateway in N processes sharing its port with
``SO_REUSEPORT``: this process serves it alongside the identity provider, the SPA and the admin app,
and N-1 gateway-only worker processes (``python -m gatehold.server worker``) build the same gateway
from the same configuration. Workers share nothing in memory (authorizer caches, throttle counters,
metrics are per process, as for replicas); a worker that dies is started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Coroutine, Generator, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from gatehold.asgi_bridge import AsgiResponder
from gatehold.gateway.app import GatewayApp
from gatehold.gateway.http1 import GatewayHttpServer

log = logging.getLogger("gatehold.server")

ASGIApp = Callable[..., Any]
T = TypeVar("T")

#: the listener that ``workers`` multiplies
GATEWAY = "gateway"


@dataclass(frozen=True)
class Listener:
    """One app on one port. ``name`` is what the banner calls it."""

    name: str
    app: ASGIApp
    port: int
    lifespan: str = "auto"
    #: "uvicorn", or "http1": the gateway's own HTTP/1.1 server running the ASGI app through
    #: :class:`gatehold.asgi_bridge.AsgiResponder` (whole bodies, no streaming: the identity provider)
    server: str = "uvicorn"


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


@dataclass(frozen=True)
class GatewayWorker:
    """What a gateway worker process needs to build the same gateway (apps do not cross processes).

    ``config_path`` None means the bundled example stack; ``variables`` are the ``${name}``
    placeholders the parent used, so both resolve the configuration identically.
    """

    config_path: str | None
    variables: dict[str, str]
    log_level: str = "warning"
    #: :class:`gatehold.importers.ImportOptions` as plain data (parameter overrides, aliases …)
    import_options: dict[str, Any] = field(default_factory=dict)
    #: hot reload: the parent tells the worker what changed over a pipe (:mod:`gatehold.reload`)
    reload: bool = False


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run the stack's main coroutine on uvloop when it is installed (else asyncio's loop)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run(main)
    result: T = uvloop.run(main)
    return result


def _uvicorn_config(
    app: ASGIApp, *, host: str, port: int, lifespan: str, graceful_timeout: float
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan=lifespan,  # type: ignore[arg-type]
        log_level="warning",
        access_log=False,
        server_header=False,
        # never let a client's X-Forwarded-For rewrite the peer
        proxy_headers=False,
        timeout_graceful_shutdown=int(graceful_timeout),
        loop="none",  # the running loop: uvloop under run()
        http="httptools",  # the ASGI listeners (SPA, admin); the gateway has its own server
        # idle keep-alive connections closed after 30 s, as the gateway's own server does
        timeout_keep_alive=30,
        backlog=4096,
    )


class PortUnavailable(OSError):
    """A listener's port cannot be bound; the message names the listener and the port."""


def _listening_socket(name: str, host: str, port: int) -> socket.socket:
    """Bind before any server starts, so a taken port is one clear error and nothing half-starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortUnavailable(
            exc.errno, f"the {name} port {host}:{port} is not available ({exc.strerror})"
        ) from None
    sock.listen(4096)
    sock.setblocking(False)
    return sock


def _reuseport_socket(host: str, port: int) -> socket.socket:
    """A listening socket that other processes may bind too (the kernel spreads connections)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(4096)
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :func:`serve`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _server_for(lst: Listener, *, host: str, graceful_timeout: float) -> _Server | GatewayHttpServer:
    """The gateway's own HTTP/1.1 server for a :class:`GatewayApp`, uvicorn for any other ASGI app."""
    if isinstance(lst.app, GatewayApp):
        return GatewayHttpServer(lst.app, graceful_timeout=graceful_timeout)
    if lst.server == "http1":
        responder = AsgiResponder(lst.app, lifespan=lst.lifespan != "off")
        return GatewayHttpServer(responder, graceful_timeout=graceful_timeout)
    return _Server(
        _uvicorn_config(
            lst.app, host=host, port=lst.port, lifespan=lst.lifespan, graceful_timeout=graceful_timeout
        )
    )


class _WorkerPool:
    """N-1 gateway worker processes on the gateway's port; restarted when one dies unexpectedly."""

    def __init__(
        self, spec: GatewayWorker, count: int, *, host: str, port: int, graceful_timeout: float
    ) -> None:
        self.spec = spec
        self.count = count
        self.host = host
        self.port = port
        self.graceful_timeout = graceful_timeout
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ready_fds: list[int] = []
        self.stopping = False
        #: per worker process (by pid): the write end of its control pipe (hot reload)
        self.controls: dict[int, int] = {}

    def _spawn(self) -> tuple[subprocess.Popen[bytes], int]:
        r, w = os.pipe()
        control_r, control_w = os.pipe() if self.spec.reload else (-1, -1)
        payload = json.dumps(
            {
                **asdict(self.spec),
                "host": self.host,
                "port": self.port,
                "ready_fd": w,
                "control_fd": control_r if self.spec.reload else None,
                "graceful_timeout": self.graceful_timeout,
            }
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "gatehold.server", "worker", payload],
            pass_fds=(w, control_r) if self.spec.reload else (w,),
            stdin=subprocess.DEVNULL,
        )
        os.close(w)
        if self.spec.reload:
            os.close(control_r)
            os.set_blocking(control_w, False)
            self.controls[proc.pid] = control_w
        return proc, r

    def tell(self, message: dict[str, Any]) -> None:
        """Send each worker process a message (one JSON line on its control pipe; hot reload)."""
        line = json.dumps(message).encode() + b"\n"
        for proc in self.procs:
            fd = self.controls.get(proc.pid)
            if fd is not None and proc.poll() is None:
                try:
                    os.write(fd, line)
                except OSError as exc:  # a worker that exited or stopped reading
                    log.warning("gateway worker %s: cannot tell it %s: %s", proc.pid, message, exc)

    def _forget(self, proc: subprocess.Popen[bytes]) -> None:
        fd = self.controls.pop(proc.pid, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def start(self) -> None:
        for _ in range(self.count):
            proc, r = self._spawn()
            self.procs.append(proc)
            self.ready_fds.append(r)

    async def wait_ready(self, timeout: float = 60.0) -> bool:
        """True when every worker reported that it listens (False if one exited first)."""

        def read_all() -> bool:
            ok = True
            for fd in self.ready_fds:
                try:
                    ok &= os.read(fd, 1) == b"1"
                finally:
                    os.close(fd)
            self.ready_fds = []
            return ok

        try:
            return await asyncio.wait_for(asyncio.to_thread(read_all), timeout)
        except TimeoutError:
            return False

    async def supervise(self) -> None:
        while not self.stopping:
            await asyncio.sleep(0.5)
            for i, proc in enumerate(self.procs):
                if proc.poll() is not None and not self.stopping:
                    log.warning(
                        "gateway worker %s exited with %s; starting another", proc.pid, proc.returncode
                    )
                    self._forget(proc)
                    new, r = self._spawn()
                    os.close(r)
                    self.procs[i] = new

    async def stop(self) -> None:
        self.stopping = True
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        deadline = asyncio.get_running_loop().time() + self.graceful_timeout + 2
        for proc in self.procs:
            while proc.poll() is None and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            self._forget(proc)
        for fd in self.ready_fds:
            with contextlib.suppress(OSError):
                os.close(fd)


@dataclass
class Serving:
    """What :func:`serve` started, for hot reload (:mod:`gatehold.reload`): the server of each
    listener, by name, and the ``--workers`` gateway processes' message line."""

    servers: dict[str, Any]
    pool: _WorkerPool | None = None

    def tell_workers(self, message: dict[str, Any]) -> None:
        if self.pool is not None:
            self.pool.tell(message)


async def serve(
    listeners: Iterable[Listener],
    *,
    host: str,
    on_started: Callable[[], None] | None = None,
    on_shutdown: Callable[[], Any] | None = None,
    graceful_timeout: float = 10.0,
    workers: int = 1,
    gateway_worker: GatewayWorker | None = None,
    on_serving: Callable[[Serving], None] | None = None,
) -> None:
    """Serve every listener until SIGINT/SIGTERM; then shut down gracefully.

    With ``workers > 1`` and ``gateway_worker``, the ``gateway`` listener's port is shared by this
    process and ``workers - 1`` worker processes (``SO_REUSEPORT``). ``on_serving`` is told the
    servers once they are built (hot reload swaps the gateway server's app).
    """
    listeners = list(listeners)
    pool: _WorkerPool | None = None
    sockets: dict[str, socket.socket] = {}
    gw = next((lst for lst in listeners if lst.name == GATEWAY), None)
    if workers > 1:
        if gw is None or gateway_worker is None:
            raise ValueError("workers > 1 needs a 'gateway' listener and a GatewayWorker to build it")
        sockets[GATEWAY] = _reuseport_socket(host, gw.port)
        pool = _WorkerPool(
            gateway_worker, workers - 1, host=host, port=gw.port, graceful_timeout=graceful_timeout
        )

    try:
        for lst in listeners:
            if lst.name not in sockets:
                sockets[lst.name] = _listening_socket(lst.name, host, lst.port)
    except OSError:
        for sock in sockets.values():
            sock.close()
        raise

    servers = [_server_for(lst, host=host, graceful_timeout=graceful_timeout) for lst in listeners]
    if on_serving is not None:
        on_serving(Serving({lst.name: s for lst, s in zip(listeners, servers, strict=True)}, pool))
    loop = asyncio.get_running_loop()

    def stop(sig: int) -> None:
        if pool is not None:
            # a Ctrl+C reaches the workers too: their exit is the shutdown, not a crash to repair
            pool.stopping = True
        for s in servers:
            if s.should_exit and sig == signal.SIGINT:
                s.force_exit = True
            s.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop, sig)

    tasks = [
        asyncio.create_task(s.serve(sockets=[sockets[lst.name]]))
        for s, lst in zip(servers, listeners, strict=True)
    ]
    supervisor: asyncio.Task[None] | None = None
    if pool is not None:
        pool.start()

    async def announce() -> None:
        nonlocal supervisor
        while not all(s.started for s in servers):
            if any(t.done() for t in tasks):
                return
            await asyncio.sleep(0.02)
        if pool is not None:
            if not await pool.wait_ready():
                log.error("a gateway worker did not start; stopping")
                stop(signal.SIGTERM)
                return
            supervisor = asyncio.create_task(pool.supervise())
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
        if supervisor is not None:
            supervisor.cancel()
        if pool is not None:
            await pool.stop()
        for sock in sockets.values():
            sock.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        if on_shutdown is not None:
            result = on_shutdown()
            if asyncio.iscoroutine(result):
                await result


# --------------------------------------------------------------------------------------------------
# a gateway worker process: python -m gatehold.server worker '<json>'
# --------------------------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Linux: get SIGTERM when the parent dies, so no worker outlives ``gatehold up``."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


async def _worker_main(spec: dict[str, Any]) -> None:
    import httpx

    from gatehold.cli.common import load_or_exit
    from gatehold.gateway.app import GatewayApp
    from gatehold.importers import ImportOptions
    from gatehold.runtime import build_invoker

    options = ImportOptions.from_dict(spec.get("import_options") or {})
    loaded = load_or_exit(spec["config_path"], spec["variables"], options)
    invoker = build_invoker(loaded)
    http_client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0))
    gateway = GatewayApp(loaded, invoker, http_client=http_client)
    sock = _reuseport_socket(spec["host"], spec["port"])
    server = GatewayHttpServer(gateway, graceful_timeout=spec["graceful_timeout"])
    loop = asyncio.get_running_loop()

    def stop() -> None:
        server.force_exit = server.should_exit
        server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    ready_fd = int(spec["ready_fd"])

    async def report_ready() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.02)
        os.write(ready_fd, b"1")
        os.close(ready_fd)

    reporter = asyncio.create_task(report_ready())
    follower = None
    if spec.get("control_fd") is not None:
        from gatehold.reload import Reloader

        reloader = Reloader(
            loaded,
            invoker,
            gateway,
            config_path=Path(spec["config_path"]) if spec["config_path"] else None,
            variables=spec["variables"],
            options=options,
            http_client=http_client,
            announce=False,
        )
        reloader.server = server
        follower = asyncio.create_task(_follow(reloader, int(spec["control_fd"])))
    try:
        await server.serve(sockets=[sock])
    finally:
        reporter.cancel()
        sock.close()
        if follower is not None:
            follower.cancel()
            await reloader.aclose()
            invoker = reloader.invoker
        await invoker.aclose()
        await http_client.aclose()


async def _follow(reloader: Any, fd: int) -> None:
    """A gateway worker process: apply what the parent reports on the control pipe, line by line."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb"))
    while line := await reader.readline():
        try:
            await reloader.follow(json.loads(line))
        except Exception:
            log.exception("hot reload in a gateway worker failed")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "worker":
        raise SystemExit("usage: python -m gatehold.server worker '<json spec>'")
    spec = json.loads(args[1])
    _die_with_parent()
    from gatehold.logs import configure_logging

    configure_logging(spec.get("log_level", "warning"))
    # SIGINT/SIGTERM drain the worker's connections (GatewayHttpServer.shutdown): a clean stop
    with contextlib.suppress(KeyboardInterrupt):
        run(_worker_main(spec))


if __name__ == "__main__":
    main()
