"""What runs in each process of the stack, and serving listeners in one process.

``gatehold up`` is a supervisor (:mod:`gatehold.supervisor`) that starts one process per service
(docs/runtime.md, "Processes"):

* ``gateway-1`` … ``gateway-N``: the API gateway, one process per ``--workers``, each on its own
  ``SO_REUSEPORT`` listening socket of the gateway's port; the Lambda functions' workers are its
  children;
* ``idp``: the identity provider;
* ``spa``: the single-page app, when the configuration has ``spa:``;
* ``dynamodb``: the local DynamoDB endpoint (its engine a child of it), when the configuration has
  ``tables:`` (:mod:`gatehold.dynamodb.service`);

and serves the admin endpoints itself. Each is ``python -m gatehold.server NAME CONTROL_FD
SUPERVISOR_PID`` (:func:`main`): it imports what its service needs, then waits on its control
channel (:class:`Channel`) for its spec (the validated configuration, pickled, and its listening
sockets' descriptors, inherited), serves, says ``ready``, and then answers the supervisor's messages
(hot reload, metrics). SIGTERM or SIGINT drains it (in-flight requests finish within the grace
period); so does the supervisor's death (``PR_SET_PDEATHSIG`` on Linux, and the channel's end
everywhere).

The gateway is served by its own HTTP/1.1 protocol (:mod:`gatehold.gateway.http1`: httptools, no
ASGI in between, one write per response), the identity provider by the same server through
:class:`~gatehold.asgi_bridge.AsgiResponder`, the SPA and the admin app by uvicorn with httptools,
all on uvloop (:func:`run`). Chosen by measurement (BENCHMARKS.md, "Server choice").

:func:`serve` runs listeners in the calling process (the benchmark apps use it).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import pickle
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

if TYPE_CHECKING:
    import uvicorn

    from gatehold.config import LoadedConfig
    from gatehold.gateway.http1 import GatewayHttpServer
    from gatehold.redis_state import RedisSettings, RedisState

log = logging.getLogger("gatehold.server")

ASGIApp = Callable[..., Any]
T = TypeVar("T")

#: the least a stop waits for in-flight requests when ``--graceful-timeout`` is not given (s)
GRACE_FLOOR_S = 10.0
#: added to the longest route's timeout, for the response to be written after it
GRACE_MARGIN_S = 1.0


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
    workers: int = 1
    #: None: :func:`default_graceful_timeout` of the configuration
    graceful_timeout: float | None = None
    #: shared state for several processes and replicas (:mod:`gatehold.redis_state`); None: in process
    redis_url: str | None = None
    #: the stack's Redis keys start with it (stacks with the same URL and prefix are replicas)
    redis_prefix: str = "gatehold:"

    @property
    def redis(self) -> RedisSettings | None:
        """``--redis-url`` / ``--redis-prefix`` as settings; None without ``--redis-url``."""
        if not self.redis_url:
            return None
        from gatehold.redis_state import RedisSettings

        return RedisSettings(self.redis_url, self.redis_prefix)

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


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run the stack's main coroutine on uvloop when it is installed (else asyncio's loop)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run(main)
    result: T = uvloop.run(main)
    return result


def default_graceful_timeout(loaded: LoadedConfig) -> float:
    """How long a stop lets in-flight requests run: the longest a route of ``loaded`` can take to
    answer, plus :data:`GRACE_MARGIN_S`, and at least :data:`GRACE_FLOOR_S`.

    A route takes at most its authorizer's time (a Lambda authorizer: its function's timeout,
    bounded by API Gateway's authorizer deadline; a JWT authorizer: none to speak of) plus its
    integration's (a Lambda proxy: the function's timeout bounded by the integration timeout, REST
    29 s / HTTP 30 s or the route's ``timeout_ms``; an HTTP integration: its integration timeout; a
    mock: none).
    """
    from gatehold.config.models import LambdaIntegration, MockIntegration
    from gatehold.gateway.authorizers.lambda_ import HTTP_AUTHORIZER_DEADLINE_S, REST_AUTHORIZER_DEADLINE_S
    from gatehold.gateway.integrations.lambda_proxy import HTTP_TIMEOUT_CAP_S, REST_TIMEOUT_CAP_S

    config = loaded.config

    def function_timeout(name: str | None) -> float:
        fn = config.functions.get(name) if name else None
        return fn.timeout if fn is not None else 0.0

    longest = 0.0
    for api in config.apis.values():
        cap = REST_TIMEOUT_CAP_S if api.type == "REST" else HTTP_TIMEOUT_CAP_S
        authorizer_cap = REST_AUTHORIZER_DEADLINE_S if api.type == "REST" else HTTP_AUTHORIZER_DEADLINE_S
        for route in api.routes.values():
            integration = route.integration
            taken = 0.0
            if not isinstance(integration, MockIntegration):
                deadline = min(cap, integration.timeout_ms / 1000) if integration.timeout_ms else cap
                if isinstance(integration, LambdaIntegration):
                    deadline = min(deadline, function_timeout(integration.function))
                taken = deadline
            authorizer = api.authorizers.get(route.authorizer) if route.authorizer else None
            if authorizer is not None and authorizer.function:
                taken += min(authorizer_cap, function_timeout(authorizer.function))
            longest = max(longest, taken)
    return max(GRACE_FLOOR_S, longest + GRACE_MARGIN_S)


# --------------------------------------------------------------------------------------------------
# listening sockets (bound by the supervisor, inherited by the processes)
# --------------------------------------------------------------------------------------------------


class PortUnavailable(OSError):
    """A listener's port cannot be bound; the message names the listener and the port."""


def listening_sockets(name: str, host: str, port: int, count: int = 1) -> list[socket.socket]:
    """``count`` listening sockets on ``host:port``: one plain socket, or with ``count > 1`` that many
    ``SO_REUSEPORT`` sockets among which the kernel spreads new connections (one per gateway
    process). Bound before anything starts, so that a taken port is one clear error
    (:class:`PortUnavailable`); a port another ``SO_REUSEPORT`` listener holds counts as taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if count > 1:
        # SO_REUSEPORT would join another such listener of the same user: make sure there is none
        listening_sockets(name, host, port)[0].close()
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if count > 1:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.listen(4096)
            sock.setblocking(False)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise PortUnavailable(
            exc.errno, f"the {name} port {host}:{port} is not available ({exc.strerror})"
        ) from None
    return sockets


# --------------------------------------------------------------------------------------------------
# serving listeners in this process
# --------------------------------------------------------------------------------------------------


def _uvicorn_config(
    app: ASGIApp, *, host: str, port: int, lifespan: str, graceful_timeout: float
) -> uvicorn.Config:
    import uvicorn

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
        timeout_graceful_shutdown=max(1, round(graceful_timeout)),
        loop="none",  # the running loop: uvloop under run()
        http="httptools",  # the ASGI listeners (SPA, admin); the gateway has its own server
        # idle keep-alive connections closed after 30 s, as the gateway's own server does
        timeout_keep_alive=30,
        backlog=4096,
    )


class Server(Protocol):
    """What a listener's server offers (uvicorn's ``Server``, :class:`GatewayHttpServer`)."""

    started: bool
    should_exit: bool
    force_exit: bool

    async def serve(self, sockets: list[socket.socket]) -> None: ...


def uvicorn_server(app: ASGIApp, *, host: str, port: int, lifespan: str, graceful_timeout: float) -> Server:
    """uvicorn serving ``app``, leaving signal handling to the caller."""
    import uvicorn

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Generator[None, None, None]:
            yield

    config = _uvicorn_config(app, host=host, port=port, lifespan=lifespan, graceful_timeout=graceful_timeout)
    server: Server = _Server(config)
    return server


def _server_for(lst: Listener, *, host: str, graceful_timeout: float) -> Server:
    """The gateway's own HTTP/1.1 server for a :class:`GatewayApp`, uvicorn for any other ASGI app."""
    from gatehold.asgi_bridge import AsgiResponder
    from gatehold.gateway.app import GatewayApp
    from gatehold.gateway.http1 import GatewayHttpServer

    if isinstance(lst.app, GatewayApp):
        return GatewayHttpServer(lst.app, graceful_timeout=graceful_timeout)
    if lst.server == "http1":
        responder = AsgiResponder(lst.app, lifespan=lst.lifespan != "off")
        return GatewayHttpServer(responder, graceful_timeout=graceful_timeout)
    return uvicorn_server(
        lst.app, host=host, port=lst.port, lifespan=lst.lifespan, graceful_timeout=graceful_timeout
    )


async def serve(
    listeners: Iterable[Listener],
    *,
    host: str,
    on_started: Callable[[], None] | None = None,
    graceful_timeout: float = GRACE_FLOOR_S,
) -> None:
    """Serve every listener in this process until SIGINT/SIGTERM, then shut down gracefully (a second
    SIGINT skips the grace period)."""
    listeners = list(listeners)
    sockets: list[socket.socket] = []
    try:
        for lst in listeners:
            sockets += listening_sockets(lst.name, host, lst.port)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    servers = [_server_for(lst, host=host, graceful_timeout=graceful_timeout) for lst in listeners]
    loop = asyncio.get_running_loop()

    def stop(sig: int) -> None:
        for s in servers:
            if s.should_exit and sig == signal.SIGINT:
                s.force_exit = True
            s.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop, sig)
    tasks = [asyncio.create_task(s.serve(sockets=[sock])) for s, sock in zip(servers, sockets, strict=True)]

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
        for sock in sockets:
            sock.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


# --------------------------------------------------------------------------------------------------
# the control channel between the supervisor and a process
# --------------------------------------------------------------------------------------------------


class Channel:
    """Messages between the supervisor and one of its processes over a Unix socketpair: dicts,
    pickled (both ends are this program; the configuration crosses it as the objects the supervisor
    validated), each framed by its length (4 bytes, big-endian).

    Supervisor → process: ``{"spec": {...}}`` first; then ``{"reload": {"functions": [...],
    "config": LoadedConfig}}`` (gateway), ``{"tenant": TenantConfig}`` (identity provider),
    ``{"graceful_timeout": s}``, ``{"metrics": n}``, ``{"explain": n, "request_id": id}`` (gateway),
    ``{"force": True}`` (skip the grace).
    Process → supervisor: ``{"ready": True}``, ``{"metrics": n, "text": "..."}``,
    ``{"explain": n, "trace": dict | None}``.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, sock: socket.socket) -> Channel:
        reader, writer = await asyncio.open_unix_connection(sock=sock)
        return cls(reader, writer)

    async def receive(self) -> dict[str, Any] | None:
        """The next message; None once the other end has closed."""
        try:
            header = await self.reader.readexactly(4)
            data = await self.reader.readexactly(int.from_bytes(header, "big"))
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        # the other end is this program, over a socketpair no other process holds
        message: dict[str, Any] = pickle.loads(data)  # noqa: S301
        return message

    @staticmethod
    def encode(message: dict[str, Any]) -> bytes:
        """A message as :meth:`send_encoded` sends it (encoded once for several processes)."""
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        return len(data).to_bytes(4, "big") + data

    def send(self, message: dict[str, Any]) -> None:
        self.send_encoded(self.encode(message))

    def send_encoded(self, frame: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(frame)

    def close(self) -> None:
        self.writer.close()


# --------------------------------------------------------------------------------------------------
# a process of the stack: python -m gatehold.server NAME CONTROL_FD SUPERVISOR_PID
# --------------------------------------------------------------------------------------------------


class Service(Protocol):
    """One service in its process: built from the spec, served until stopped."""

    @property
    def server(self) -> Server: ...

    async def handle(self, message: dict[str, Any]) -> None: ...

    async def aclose(self) -> None: ...


class _Gateway:
    """The API gateway: ``GatewayApp`` on the gateway's HTTP/1.1 server, its Lambda runtime, and
    hot reload as the supervisor reports it (:class:`gatehold.reload.GatewayReloader`)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        import httpx

        from gatehold.gateway.app import GatewayApp
        from gatehold.gateway.http1 import GatewayHttpServer
        from gatehold.reload import GatewayReloader
        from gatehold.runtime import build_invoker

        loaded: LoadedConfig = spec["config"]
        # what every function's environment starts from: the local DynamoDB endpoint when the
        # stack has tables (gatehold.dynamodb.environment); a function's own variables still win
        os.environ.update(spec.get("environment", {}))
        invoker = build_invoker(loaded)
        self.http_client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0))
        self.redis = _redis_state(spec)
        gateway = GatewayApp(loaded, invoker, http_client=self.http_client, redis=self.redis)
        self.server: GatewayHttpServer = GatewayHttpServer(gateway, graceful_timeout=spec["graceful_timeout"])
        self.reloader = GatewayReloader(loaded, invoker, gateway, http_client=self.http_client)
        self.reloader.server = self.server
        if self.redis is not None:
            self.redis.rotation_handlers.append(self.follow_rotation)
            self.redis.on_recovered.append(self.refetch_keys)

    async def start(self) -> None:
        """Connect to Redis (gatehold up --redis-url) on the process's loop."""
        if self.redis is not None:
            await self.redis.start()

    async def follow_rotation(self, message: dict[str, Any]) -> None:
        """A key rotation announced by an identity provider (:mod:`gatehold.redis_state`): the JWKS
        of that issuer fetched again, the tokens verified with the old set dropped."""
        issuer, kids = message.get("issuer"), message.get("kids")
        wanted = [str(k) for k in kids] if isinstance(kids, list) else []
        sources = [s for s in self.reloader.app.authorizers.jwks_sources.values() if s.issuer == issuer]
        if sources:
            await asyncio.gather(*(s.follow_rotation(wanted) for s in sources))
            log.info("key rotation of %s followed", issuer, extra={"event": "keys_rotated"})

    async def refetch_keys(self) -> None:
        """Redis is back: a rotation may have been announced meanwhile; fetch every key set once."""
        sources = list(self.reloader.app.authorizers.jwks_sources.values())
        await asyncio.gather(*(s.follow_rotation(attempts=1) for s in sources))

    async def handle(self, message: dict[str, Any]) -> None:
        if "graceful_timeout" in message:
            self.server.graceful_timeout = float(message["graceful_timeout"])
        if "reload" in message:
            await self.reloader.follow(message["reload"])

    def explain(self, request_id: str) -> dict[str, Any] | None:
        """A recent request of this process, explained (:meth:`GatewayApp.explain`)."""
        return self.reloader.app.explain(request_id)

    async def aclose(self) -> None:
        await self.reloader.aclose()
        await self.reloader.invoker.aclose()
        await self.http_client.aclose()
        if self.redis is not None:
            await self.redis.aclose()


def _redis_state(spec: dict[str, Any]) -> RedisState | None:
    """This process's :class:`~gatehold.redis_state.RedisState` when the stack has ``--redis-url``."""
    if not spec.get("redis"):
        return None  # nothing of Redis imported, nothing on the request path
    from gatehold.redis_state import RedisSettings, RedisState

    settings = RedisSettings.from_spec(spec["redis"])
    return RedisState(settings, process=spec.get("process", "?")) if settings is not None else None


class _IdentityProvider:
    """The identity provider's ASGI app on the gateway's HTTP/1.1 server; a changed ``tenant:``
    section is applied again (``IdentityProvider.startup`` is idempotent)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from gatehold.asgi_bridge import AsgiResponder
        from gatehold.gateway.http1 import GatewayHttpServer
        from gatehold.idp.app import create_idp_app

        loaded: LoadedConfig = spec["config"]
        app = create_idp_app(
            loaded,
            public_url=spec["idp_url"],
            data_dir=Path(spec["data_dir"]),
            database_url=spec["database_url"],
        )
        self.provider = app.state.idp
        self.server = GatewayHttpServer(AsgiResponder(app), graceful_timeout=spec["graceful_timeout"])
        self.redis = _redis_state(spec)
        if self.redis is not None:
            from gatehold.redis_state import SyncRedis

            self.provider.share_through(SyncRedis(self.redis.settings, process="idp"))
            self.redis.rotation_handlers.append(self.reload_keys)

    async def start(self) -> None:
        if self.redis is not None:
            await self.redis.start()

    async def reload_keys(self, message: dict[str, Any]) -> None:
        """A rotation was announced (by another process or replica): read the key table now."""
        await asyncio.to_thread(self.provider.keys.reload)

    async def handle(self, message: dict[str, Any]) -> None:
        if "graceful_timeout" in message:
            self.server.graceful_timeout = float(message["graceful_timeout"])
        tenant = message.get("tenant")
        if tenant is None:
            return
        try:
            self.provider.config = tenant
            await asyncio.to_thread(self.provider.startup)
        except Exception:
            log.exception(
                "identity provider: the changed tenant section could not be applied; restart to apply it",
                extra={"event": "reload_refused"},
            )
            return
        log.info("identity provider: tenant section applied again", extra={"event": "reload"})

    async def aclose(self) -> None:
        # the server's shutdown ran the app's lifespan shutdown (the store closed)
        if self.redis is not None:
            await self.redis.aclose()


class _SinglePageApp:
    """The demo single-page app under uvicorn."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from gatehold.spa import create_spa_app

        app = create_spa_app(
            idp_url=spec["idp_url"],
            gateway_url=spec["gateway_url"],
            spa_url=spec["spa_url"],
            client_id=spec["client_id"],
        )
        self.server = uvicorn_server(
            app,
            host=spec["host"],
            port=spec["port"],
            lifespan="off",
            graceful_timeout=spec["graceful_timeout"],
        )

    async def handle(self, message: dict[str, Any]) -> None:
        pass

    async def aclose(self) -> None:
        pass


def _dynamodb(spec: dict[str, Any]) -> Service:
    """The local DynamoDB endpoint, when the configuration has tables (:mod:`gatehold.dynamodb`)."""
    from gatehold.dynamodb.service import DynamoDBService

    return DynamoDBService(spec)


_SERVICES: dict[str, Callable[[dict[str, Any]], Service]] = {
    "gateway": _Gateway,
    "idp": _IdentityProvider,
    "spa": _SinglePageApp,
    "dynamodb": _dynamodb,
}


def role_of(name: str) -> str:
    """``gateway-2`` → ``gateway``; ``idp`` → ``idp``."""
    return name.split("-", 1)[0]


def _preimport(role: str) -> None:
    """Import what the service needs while the supervisor is still validating the configuration
    (the spec, and so the work, comes once it is valid)."""
    import importlib

    modules = {
        "gateway": ("httpx", "gatehold.gateway.app", "gatehold.gateway.http1", "gatehold.runtime.invoker"),
        "idp": ("gatehold.idp.app", "gatehold.gateway.http1", "gatehold.asgi_bridge"),
        "spa": ("uvicorn", "gatehold.spa"),
        "dynamodb": ("httpx", "gatehold.dynamodb.service"),
    }
    for module in (*modules.get(role, ()), "gatehold.config"):
        importlib.import_module(module)


async def _process_main(name: str, control_fd: int) -> None:
    channel = await Channel.open(socket.socket(fileno=control_fd))
    first = await channel.receive()
    if first is None or "spec" not in first:
        return  # the supervisor stopped before this process was needed
    spec: dict[str, Any] = first["spec"]
    from gatehold.logs import configure_logging

    configure_logging(spec.get("log_level", "warning"), fields={"service": name})  # who wrote each line
    sockets = [socket.socket(fileno=fd) for fd in spec["listen_fds"]]
    if spec.get("clock_file"):  # gatehold up --test-clock: before the service builds what reads it
        from gatehold import clock

        clock.install(clock.SharedClock.open(spec["clock_file"]))
    service = _SERVICES[role_of(name)](spec | {"process": name})
    start = getattr(service, "start", None)
    if start is not None:  # what needs the running loop (Redis)
        await start()
    server = service.server
    loop = asyncio.get_running_loop()

    def stop() -> None:
        server.should_exit = True  # repeated signals change nothing: {"force": True} skips the grace

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    serving = asyncio.create_task(server.serve(sockets=sockets))

    async def report_ready() -> None:
        while not server.started:
            if serving.done():
                return
            await asyncio.sleep(0.01)
        # what start-up built lives as long as the process: out of the collector's way (fewer and
        # shorter full collections on the request path)
        gc.freeze()
        channel.send({"ready": True})

    async def follow() -> None:
        while (message := await channel.receive()) is not None:
            if message.get("ping"):
                channel.send({"pong": True})  # the supervisor's heartbeat: the loop turns
            elif message.get("force"):
                server.force_exit = server.should_exit = True
            elif "metrics" in message:
                from prometheus_client import generate_latest

                from gatehold.metrics import REGISTRY

                channel.send({"metrics": message["metrics"], "text": generate_latest(REGISTRY).decode()})
            elif "explain" in message:  # gatehold explain: a recent request's trace, or None
                explain = getattr(service, "explain", None)
                found = explain(str(message.get("request_id", ""))) if explain is not None else None
                channel.send({"explain": message["explain"], "trace": found})
            else:
                try:
                    await service.handle(message)
                except Exception:
                    log.exception("%s: handling %s failed", name, sorted(message))
        stop()  # the supervisor is gone: stop as on SIGTERM

    tasks = [asyncio.create_task(report_ready()), asyncio.create_task(follow())]
    try:
        await serving
    finally:
        for task in tasks:
            task.cancel()
        await service.aclose()
        for sock in sockets:
            sock.close()
        channel.close()


def process_title(name: str) -> str:
    """What ``top`` and ``ps -o comm`` call the process (``/proc/PID/comm``, 15 bytes at most):
    ``gatehold gw-1``, ``gatehold idp``, ``gatehold spa``."""
    return ("gatehold " + name.replace("gateway-", "gw-"))[:15]


def name_process(title: str) -> None:
    """Linux: what ``top`` and ``ps -o comm`` call this process (``/proc/PID/comm``)."""
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_name = 15
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_name, ctypes.c_char_p(title.encode()[:15]))


def _become(name: str, supervisor: int) -> None:
    """Linux: take the process's name (:func:`process_title`) and get SIGTERM when the supervisor
    dies, so that no process outlives ``gatehold up``; if it is already gone, stop now."""
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    name_process(process_title(name))
    if os.getppid() != supervisor:
        raise SystemExit(0)


def serve_forked(name: str, control_fd: int, supervisor: int) -> NoReturn:
    """A process forked by the supervisor at start-up (:meth:`gatehold.supervisor.Child.spawn`):
    everything is imported already; serve, then exit without returning into the supervisor's code."""
    code = 0
    try:
        _become(name, supervisor)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with contextlib.suppress(KeyboardInterrupt):
            run(_process_main(name, control_fd))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        log.exception("%s failed", name)
        code = 1
    finally:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def preimport(names: Iterable[str]) -> None:
    """Import what the services ``names`` need (the supervisor does, before it forks them)."""
    for name in names:
        _preimport(role_of(name))


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or role_of(args[0]) not in _SERVICES:
        raise SystemExit(
            "usage: python -m gatehold.server {gateway-N|idp|spa|dynamodb} CONTROL_FD SUPERVISOR_PID"
        )
    name, control_fd, supervisor = args[0], int(args[1]), int(args[2])
    _become(name, supervisor)
    _preimport(role_of(name))
    # SIGINT/SIGTERM drain the process's connections (the server's shutdown): a clean stop
    with contextlib.suppress(KeyboardInterrupt):
        run(_process_main(name, control_fd))


if __name__ == "__main__":
    main()
