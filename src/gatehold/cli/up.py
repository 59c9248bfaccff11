"""``gatehold up``: run the gateway, the identity provider, the single-page app and, when the
configuration has tables, a local DynamoDB endpoint.

This process is the supervisor (:mod:`gatehold.supervisor`): it binds the ports, checks the
configuration, starts each service in its own process (:mod:`gatehold.server`), serves the admin
endpoints, watches the files (:mod:`gatehold.reload`) and stops everything gracefully on SIGINT or
SIGTERM (docs/runtime.md, "Processes").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import signal
import socket
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gatehold.cli.common import (
    config_option,
    console,
    current_import_options,
    data_dir_option,
    err_console,
    load_or_exit,
    prepare_node_functions,
    validate_or_exit,
)
from gatehold.cli.describe import describe
from gatehold.config import LoadedConfig
from gatehold.importers import LOCAL_M2M_CLIENT
from gatehold.server import (
    PortUnavailable,
    StackOptions,
    default_graceful_timeout,
    listening_sockets,
    name_process,
    preimport,
    run,
)
from gatehold.stack_state import StackState, write_stack_state
from gatehold.supervisor import ServiceSpec, StartFailed, Supervisor

if TYPE_CHECKING:
    from gatehold.clock import SharedClock
    from gatehold.idp.availability import DatabaseWatch
    from gatehold.idp.store import Store
    from gatehold.redis_state import RedisState
    from gatehold.reload import Reload, Reloader, Snapshot

DEMO_PASSWORD = "Gatehold-demo-1"
#: the local DynamoDB endpoint's default port (the gateway's, plus one)
DYNAMODB_PORT = 8001


def invoke_urls(loaded: LoadedConfig, gateway_url: str) -> list[tuple[str, str, str, str]]:
    """(api, type, stage, invoke URL) for every API stage, like the console's "Invoke URL"."""
    return [
        (view.name, view.type, stage, url)
        for view in describe(loaded, gateway_url)
        for stage, url in view.stages.items()
    ]


#: routes listed per API at start-up; `gatehold check` lists them all
BANNER_ROUTES = 12


def _banner(
    loaded: LoadedConfig,
    opts: StackOptions,
    *,
    example: bool,
    spa: bool,
    spa_problem: str | None,
    dynamodb_url: str | None,
) -> None:
    console.print()
    console.print("[bold]Gatehold is up[/]  (Ctrl+C to stop)")
    console.print(f"  gateway            {opts.gateway_url}")
    console.print(
        f"  identity provider  {opts.idp_url}/   (issuer; discovery at /.well-known/openid-configuration)"
    )
    if opts.public_url:  # a replica behind a load balancer: its own listener is not the issuer's URL
        console.print(f"                     served here on http://localhost:{opts.idp_port}", markup=False)
    if spa:
        note = f"  [yellow]{spa_problem}[/]" if spa_problem else ""
        console.print(f"  single-page app    {opts.spa_url}{note}")
    if dynamodb_url:
        tables = ", ".join(loaded.config.tables)
        console.print(f"  DynamoDB           {dynamodb_url}   (tables: {tables})", markup=False)
    if opts.redis is not None:
        console.print(
            f"  Redis              {opts.redis.redacted_url}   (key prefix {opts.redis_prefix})", markup=False
        )
    if opts.admin_port:
        console.print(f"  metrics / health   http://localhost:{opts.admin_port}/metrics  /healthz  /readyz")
    console.print(f"  data directory     {opts.data_dir.resolve()}")
    if loaded.format != "gatehold":
        console.print(f"  imported from      {loaded.path} ({loaded.format})")
    console.print("[bold]APIs[/] (invoke URLs)")
    for view in describe(loaded, opts.gateway_url):
        for stage, url in view.stages.items():
            console.print(f"  [bold]{view.name}[/] ({view.type}, stage {stage})  {url}")
        shown = [r for r in view.routes if not r.route_key.startswith("OPTIONS ")]
        for route in shown[:BANNER_ROUTES]:
            console.print(f"      {route.route_key:<28} {route.authorizer}", markup=False)
        if len(shown) > BANNER_ROUTES:
            console.print(
                f"      … and {len(shown) - BANNER_ROUTES} more routes (gatehold check lists them all)"
            )
    if loaded.ignored:
        console.print(
            f"  [yellow]{len(loaded.ignored)} template properties have no local effect[/]"
            " (listed by gatehold check)"
        )
    if example:
        users = ", ".join(u.email for u in loaded.config.tenant.users)
        console.print(f"  demo users: {users}  password: {DEMO_PASSWORD}")
        console.print(
            "  machine-to-machine: gatehold token --client demo-m2m --audience https://unicorns-api"
        )
    elif LOCAL_M2M_CLIENT in loaded.config.tenant.applications:
        grants = [g.audience for g in loaded.config.tenant.client_grants if g.client_id == LOCAL_M2M_CLIENT]
        if grants:
            console.print(f"  machine-to-machine: {_token_hint(opts, grants[0])}", markup=False)
    console.print()


def _token_hint(opts: StackOptions, audience: str) -> str:
    """A `gatehold token` command that mints a token this stack's gateway accepts (it follows the
    stack through the data directory's stack.json)."""
    words = ["gatehold", "token"]
    if opts.data_dir != Path(".gatehold"):
        words += ["--data-dir", shlex.quote(str(opts.data_dir))]
    return " ".join([*words, "--client", LOCAL_M2M_CLIENT, "--audience", shlex.quote(audience)])


@click.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--gateway-port", default=8000, show_default=True, help="API gateway port.")
@click.option("--idp-port", default=9000, show_default=True, help="Identity provider port.")
@click.option("--spa-port", default=3000, show_default=True, help="Single-page app port.")
@click.option("--admin-port", default=9100, show_default=True, help="Metrics and health port (0 disables).")
@click.option(
    "--dynamodb-port",
    default=DYNAMODB_PORT,
    show_default=True,
    help="Port of the local DynamoDB endpoint (on 127.0.0.1 only), run when the configuration has tables.",
)
@click.option(
    "--no-spa",
    is_flag=True,
    help="Do not serve the single-page app (served only when the config has `spa:`).",
)
@data_dir_option
@click.option(
    "--public-url", default=None, help="Public base URL of the identity provider (issuer = URL + '/')."
)
@click.option(
    "--database-url",
    default=None,
    help="SQLAlchemy URL of the identity provider's store (default: SQLite in the data dir).",
)
@click.option(
    "--redis-url",
    default=None,
    envvar="GATEHOLD_REDIS_URL",
    metavar="URL",
    help="Redis (redis://[:password@]host:port/db) for what several gateway processes and replicas must "
    "agree on: throttling and quota counters, the authorizer result cache, key-rotation notifications, "
    "login-attempt counters (docs/scaling.md). Env: GATEHOLD_REDIS_URL. Default: all state in process.",
)
@click.option(
    "--redis-prefix",
    default="gatehold:",
    show_default=True,
    metavar="PREFIX",
    help="Start of every Redis key and channel of this stack: stacks with the same Redis URL and prefix "
    "act as replicas of one service, different prefixes keep stacks apart.",
)
@click.option(
    "--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"])
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Gateway processes sharing the gateway port (SO_REUSEPORT); caches are per process.",
)
@click.option(
    "--graceful-timeout",
    default=None,
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="On SIGTERM or Ctrl+C, how long in-flight requests may take to finish (default: the longest "
    "a route of the configuration can take, its authorizer and integration timeouts bounded by its "
    "functions' timeouts, plus 1 s; at least 10 s).",
)
@click.option(
    "--reload/--no-reload",
    default=True,
    show_default=True,
    help="Hot reload: watch every function's code directory (.py files) and every configuration file "
    "(-c FILE, its imports, templates and definition files); a changed handler reloads on its next "
    "invocation, a changed configuration is validated and swapped in (the previous one keeps serving "
    "if it is invalid).",
)
@click.option(
    "--test-clock",
    is_flag=True,
    help="For tests: every process reads one shared clock (<data-dir>/clock) that the admin port's "
    "/clock endpoints freeze and advance (token expiry, authorizer and JWKS caches, refresh-token "
    "lifetimes, throttling, quotas, event times). Off by default: the system clock.",
)
def up(
    config_path: Path | None,
    host: str,
    gateway_port: int,
    idp_port: int,
    spa_port: int,
    admin_port: int,
    dynamodb_port: int,
    no_spa: bool,
    data_dir: Path,
    public_url: str | None,
    database_url: str | None,
    redis_url: str | None,
    redis_prefix: str,
    log_level: str,
    workers: int,
    graceful_timeout: float | None,
    reload: bool,
    test_clock: bool = False,
) -> None:
    """Run the gateway, the identity provider and the single-page app.

    With no -c, runs the example stack, five Auth0 + API Gateway tutorials (docs/aws-reference.md):
    Movies/Devices, PetStore, Unicorns and the wish list behind their authorizers, and a tenant with
    demo users.
    """
    from gatehold.logs import configure_logging

    configure_logging(log_level)
    name_process("gatehold up")
    opts = StackOptions(
        host=host,
        gateway_port=gateway_port,
        idp_port=idp_port,
        spa_port=spa_port,
        admin_port=admin_port or None,
        data_dir=data_dir,
        public_url=public_url,
        database_url=database_url,
        workers=workers,
        graceful_timeout=graceful_timeout,
        redis_url=redis_url or None,
        redis_prefix=redis_prefix,
    )
    try:
        opts.redis  # noqa: B018 - a URL that is not Redis's is refused before anything starts
    except ValueError as exc:
        err_console.print(f"[bold red]Cannot start:[/] {exc}", highlight=False)
        raise SystemExit(2) from None
    opts.data_dir.mkdir(parents=True, exist_ok=True)
    _claim(opts.data_dir)  # before anything in it is written (stack.json, the clock, tables)
    shared_clock = _test_clock(opts.data_dir, test_clock)
    try:
        # the ports first: a taken one is one clear error, before anything starts
        admin = _bind("admin", opts.host, opts.admin_port)[0] if opts.admin_port else None
        services = [
            ServiceSpec(f"gateway-{n}", f"gateway process {n}", [sock])
            for n, sock in enumerate(_bind("gateway", opts.host, opts.gateway_port, opts.workers), start=1)
        ]
        services.append(
            ServiceSpec("idp", "identity provider", _bind("identity provider", opts.host, opts.idp_port))
        )
        loaded = load_or_exit(config_path, opts.variables())
        snapshot: Snapshot | None = None
        if reload:  # what was read, so that an edit made while the stack starts is reloaded too
            from gatehold.reload import watched_snapshot

            snapshot = watched_snapshot(loaded, opts.data_dir)
        for warning in validate_or_exit(loaded):
            err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
        prepare_node_functions(loaded)
        write_stack_state(
            opts.data_dir,
            StackState(
                config_path=str(Path(config_path).resolve()) if config_path else None,
                import_options=asdict(current_import_options()),
                idp_url=opts.idp_url,
                database_url=database_url,
                pid=os.getpid(),
                gateway_url=opts.gateway_url,
                admin_url=f"http://localhost:{opts.admin_port}" if opts.admin_port else None,
                redis_url=opts.redis.redacted_url if opts.redis else None,
                redis_prefix=opts.redis_prefix,
            ),
        )
        spa = not no_spa and loaded.config.spa is not None
        spa_problem = None
        if spa:
            from gatehold.spa import ensure_assets

            services.append(
                ServiceSpec("spa", "single-page app", _bind("single-page app", opts.host, opts.spa_port))
            )
            spa_problem = ensure_assets()
            if spa_problem:
                logging.getLogger("gatehold").warning("single-page app: %s", spa_problem)
        dynamodb_url = None
        if loaded.config.tables:
            dynamodb_url = _dynamodb_service(services, dynamodb_port)
        # every process is a copy of this one, made once it has imported what they need
        database = _open_database(opts)  # its schema upgraded before any process uses it
        preimport(service.name for service in services)
        supervisor = Supervisor(services, graceful_timeout=0.0)
        if admin is not None:
            supervisor.sockets.append(admin)
        supervisor.spawn()
        stack = Stack(
            supervisor,
            loaded,
            opts,
            log_level=log_level,
            example=config_path is None,
            spa=spa,
            spa_problem=spa_problem,
            config_path=config_path,
            dynamodb_url=dynamodb_url,
            clock=shared_clock,
            database=database,
        )
        code = run(stack.run(admin, reload=snapshot))
        if code:
            sys.exit(code)
    except KeyboardInterrupt:  # Ctrl+C before the stack ran (its processes stop with this one)
        sys.exit(130)
    finally:
        if shared_clock is not None:
            shared_clock.path.unlink(missing_ok=True)  # stack_clock(data_dir): the system clock again


def _claim(data_dir: Path) -> None:
    """The data directory, held until this process exits (``gatehold.stack_state.claim_data_dir``):
    replicas on one host each need their own."""
    from gatehold.stack_state import DataDirInUse, claim_data_dir

    try:
        claim_data_dir(data_dir)  # the descriptor stays open (and the lock held) until the exit
    except DataDirInUse as exc:
        err_console.print(f"[bold red]Cannot start:[/] {exc}", highlight=False)
        raise SystemExit(1) from None


def _open_database(opts: StackOptions) -> Store | None:
    """The identity provider's store, its schema upgraded under the start-up lock before any process
    starts (:mod:`gatehold.idp.schema`): a database that a newer Gatehold migrated, or one that does
    not answer, is one clear error. A server's database (``--database-url``) stays open for
    ``/readyz`` (:class:`~gatehold.idp.availability.DatabaseWatch`); SQLite in the data directory is
    closed (None)."""
    from rich.markup import escape

    from gatehold.idp.schema import SchemaTooNew
    from gatehold.idp.store import Store, StoreUnavailable

    try:
        store = Store.open(opts.data_dir, opts.database_url)
    except (SchemaTooNew, StoreUnavailable) as exc:
        err_console.print(f"[bold red]Cannot start:[/] {escape(str(exc))}", highlight=False)
        raise SystemExit(1) from None
    store.engine.dispose()  # no pooled connection crosses the fork into the processes
    if opts.database_url is None:
        store.close()
        return None
    return store


def _test_clock(data_dir: Path, on: bool) -> SharedClock | None:
    """With ``--test-clock``, a fresh shared clock in the data directory, this process's clock and,
    through :data:`~gatehold.clock.CLOCK_ENV`, every process's and function's; without it, no clock
    file (one a previous run left behind would mislead ``stack_clock``)."""
    from gatehold import clock

    path = data_dir / clock.CLOCK_FILE
    if not on:
        path.unlink(missing_ok=True)
        os.environ.pop(clock.CLOCK_ENV, None)
        return None
    shared = clock.SharedClock.create(path)
    clock.install(shared)
    os.environ[clock.CLOCK_ENV] = str(path.resolve())
    return shared


def _bind(name: str, host: str, port: int, count: int = 1) -> list[socket.socket]:
    try:
        return listening_sockets(name, host, port, count)
    except PortUnavailable as exc:
        err_console.print(f"[bold red]Cannot start:[/] {exc}")
        raise SystemExit(1) from None


def _dynamodb_service(services: list[ServiceSpec], port: int) -> str:
    """The ``dynamodb`` process on 127.0.0.1:``port`` (loopback only, whatever ``--host`` says), its
    engine installed first; the endpoint's URL. A missing engine is an error that says what to do."""
    from gatehold.dynamodb.engine import EngineMissing, ensure_engine

    try:  # installs it when missing (npm's progress on stderr)
        ensure_engine()
    except EngineMissing as exc:
        err_console.print(
            f"[bold red]Cannot start:[/] the configuration has tables, but {exc}", highlight=False
        )
        raise SystemExit(1) from None
    sock = _bind("DynamoDB", "127.0.0.1", port)[0]
    services.append(ServiceSpec("dynamodb", "DynamoDB endpoint", [sock]))
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


class Stack:
    """The running stack, as the supervisor sees it: its processes, the configuration they serve, the
    admin endpoints, hot reload and the stop."""

    def __init__(
        self,
        supervisor: Supervisor,
        loaded: LoadedConfig,
        opts: StackOptions,
        *,
        log_level: str,
        example: bool,
        spa: bool,
        spa_problem: str | None,
        config_path: Path | None,
        dynamodb_url: str | None = None,
        clock: SharedClock | None = None,
        database: Store | None = None,
    ) -> None:
        self.supervisor = supervisor
        self.clock = clock
        #: the identity provider's database (--database-url) as the stack watches it, for /readyz
        self.database: DatabaseWatch | None = None
        if database is not None:
            from gatehold.idp.availability import DatabaseWatch

            self.database = DatabaseWatch(database)
        self.loaded = loaded
        self.opts = opts
        self.log_level = log_level
        self.example = example
        self.spa = spa
        self.spa_problem = spa_problem
        self.config_path = config_path
        self.dynamodb_url = dynamodb_url
        self.log = logging.getLogger("gatehold")
        self.redis: RedisState | None = None  # the supervisor's own look at Redis, for /readyz
        supervisor.graceful_timeout = self.graceful_timeout(loaded)

    def graceful_timeout(self, loaded: LoadedConfig) -> float:
        if self.opts.graceful_timeout is not None:
            return self.opts.graceful_timeout
        return default_graceful_timeout(loaded)

    def spec(self, name: str, loaded: LoadedConfig) -> dict[str, Any]:
        """What the process ``name`` is sent (:mod:`gatehold.server`)."""
        opts = self.opts
        spec: dict[str, Any] = {
            "log_level": self.log_level,
            "graceful_timeout": self.graceful_timeout(loaded),
            "config": loaded,
        }
        if self.clock is not None:
            spec["clock_file"] = str(self.clock.path.resolve())
        if opts.redis is not None and name.startswith(("gateway", "idp")):
            spec["redis"] = opts.redis.as_spec()
        if name.startswith("gateway") and self.dynamodb_url:
            from gatehold.dynamodb.environment import handler_environment

            spec["environment"] = handler_environment(
                self.dynamodb_url, os.environ, loaded.config.gateway.region
            )
        elif name == "dynamodb":
            spec |= {
                "data_dir": str(opts.data_dir.resolve()),
                "tables": dict(loaded.config.tables),
                "endpoint": self.dynamodb_url,
            }
        elif name == "idp":
            spec |= {
                "idp_url": opts.idp_url,
                "data_dir": str(opts.data_dir.resolve()),
                "database_url": opts.database_url,
            }
        elif name == "spa":
            spec |= {
                "idp_url": opts.idp_url,
                "gateway_url": opts.gateway_url,
                "spa_url": opts.spa_url,
                "client_id": loaded.config.spa.client_id if loaded.config.spa else "demo-spa",
                "host": opts.host,
                "port": opts.spa_port,
            }
        return spec

    async def run(self, admin: socket.socket | None, *, reload: Snapshot | None) -> int:
        """Start, serve until SIGINT/SIGTERM, stop; the exit status. ``reload``: hot reload, from the
        stamps of the files as they were read (None: no hot reload)."""
        supervisor = self.supervisor
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        def on_signal(sig: int) -> None:
            if stop.is_set() and sig == signal.SIGINT:
                supervisor.force()  # a second Ctrl+C: in-flight requests are cut
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        admin_server = self._admin(admin)
        admin_task = (
            asyncio.create_task(admin_server.serve(sockets=[admin])) if admin_server and admin else None
        )
        code = 0
        watching: asyncio.Task[None] | None = None
        starting = asyncio.create_task(
            supervisor.start({c.name: self.spec(c.name, self.loaded) for c in supervisor.children})
        )
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done() and not stopping.done():
            if starting.exception() is not None:
                exc = starting.exception()
                err_console.print(f"[bold red]Cannot start:[/] {exc}", markup=True, highlight=False)
                code = 1 if isinstance(exc, StartFailed) else 2
            else:
                _banner(
                    self.loaded,
                    self.opts,
                    example=self.example,
                    spa=self.spa,
                    spa_problem=self.spa_problem,
                    dynamodb_url=self.dynamodb_url,
                )
                self.log.info(
                    "ready",
                    extra={
                        "event": "ready",
                        "processes": supervisor.processes(),
                        "graceful_timeout_s": supervisor.graceful_timeout,
                    },
                )
                heartbeat = asyncio.create_task(supervisor.heartbeat())
                if self.database is not None:
                    database_watch = asyncio.create_task(self.database.run())
                if reload is not None:
                    watching = asyncio.create_task(self._reloader(reload).watch())
                await stopping
                heartbeat.cancel()
                if self.database is not None:
                    database_watch.cancel()
                    await asyncio.gather(database_watch, return_exceptions=True)
        starting.cancel()
        stopping.cancel()
        if watching is not None:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
        await asyncio.gather(starting, return_exceptions=True)
        await supervisor.stop()
        if admin_server is not None and admin_task is not None:
            admin_server.should_exit = True
            await asyncio.gather(admin_task, return_exceptions=True)
        if admin is not None:
            admin.close()
        if self.redis is not None:
            await self.redis.aclose()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        self.log.info("stopped", extra={"event": "stopped"})
        return code

    def _admin(self, sock: socket.socket | None) -> Any:
        if sock is None:
            return None
        from gatehold.admin import create_admin_app, merged_metrics
        from gatehold.server import uvicorn_server

        supervisor = self.supervisor

        async def metrics() -> bytes:
            return merged_metrics(await supervisor.metrics())

        app = create_admin_app(
            ready=supervisor.ready,
            unready=supervisor.readiness,
            details=self.details if self.opts.redis is not None or self.database is not None else None,
            metrics=metrics,
            clock=self.clock,
            explain=supervisor.explain,
        )
        return uvicorn_server(
            app, host=self.opts.host, port=self.opts.admin_port or 0, lifespan="off", graceful_timeout=1.0
        )

    async def details(self) -> dict[str, Any]:
        """What ``/readyz`` adds to its 200 body: Redis's state (``--redis-url``) and the identity
        provider's database's (``--database-url``). Either down is degraded, not unready: both are
        shared by every replica, and a load balancer that took them all out of service would turn a
        degraded service into an outage (docs/scaling.md)."""
        out: dict[str, Any] = {}
        if self.opts.redis is not None:
            out |= await self.redis_status()
        if self.database is not None:
            out["database"] = self.database.status()
        return out

    async def redis_status(self) -> dict[str, Any]:
        """The ``/readyz`` body's ``redis``: whether this host reaches the stack's Redis now. Down is
        degraded, not unready: the gateway goes on with each process's own state (docs/scaling.md)."""
        if self.redis is None:
            from gatehold.redis_state import RedisState

            assert self.opts.redis is not None
            self.redis = RedisState(self.opts.redis, process="supervisor")
        await self.redis.check()
        return {"redis": self.redis.status()}

    def _reloader(self, snapshot: Snapshot) -> Reloader:
        from gatehold.reload import Reloader

        return Reloader(
            self.loaded,
            config_path=Path(self.config_path) if self.config_path else None,
            variables=self.opts.variables(),
            options=current_import_options(),
            data_dir=self.opts.data_dir,
            notify=self.reloaded,
            snapshot=snapshot,
        )

    def reloaded(self, reload: Reload) -> None:
        """Tell the processes what hot reload changed (:mod:`gatehold.reload`): the gateway processes
        the functions whose code changed and the new configuration; the identity provider its
        changed ``tenant:`` section; the single-page app, started again, its changed ``spa:``."""
        supervisor = self.supervisor
        message: dict[str, Any] = {"reload": {"functions": list(reload.functions)}}
        loaded, previous = reload.config, reload.previous
        if loaded is None or previous is None:
            supervisor.tell("gateway", message)
            return
        self.loaded = loaded
        message["reload"]["config"] = loaded
        grace = supervisor.graceful_timeout = self.graceful_timeout(loaded)
        message["graceful_timeout"] = grace
        for child in supervisor.children:
            child.service.spec = self.spec(child.name, loaded)
        supervisor.tell("gateway", message)
        tenant = loaded.config.tenant
        supervisor.tell(
            "idp",
            {"graceful_timeout": grace, **({"tenant": tenant} if tenant != previous.config.tenant else {})},
        )
        if loaded.config.tables != previous.config.tables:
            if self.dynamodb_url:
                supervisor.tell("dynamodb", {"tables": dict(loaded.config.tables)})
            else:
                self.log.warning(
                    "the configuration has tables now: restart gatehold up to serve them",
                    extra={"event": "reload"},
                )
        if loaded.config.spa != previous.config.spa:
            if self.spa and loaded.config.spa is not None:
                supervisor.replace("spa", self.spec("spa", loaded))
            elif self.spa or previous.config.spa is None:
                self.log.warning(
                    "the spa: section changed: restart gatehold up to apply it", extra={"event": "reload"}
                )
