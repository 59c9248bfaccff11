"""``gatehold up``: run the gateway, the identity provider and the single-page app."""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gatehold.cli.common import (
    StackState,
    config_option,
    console,
    current_import_options,
    data_dir_option,
    err_console,
    load_or_exit,
    validate_or_exit,
    write_stack_state,
)
from gatehold.cli.describe import describe
from gatehold.config import LoadedConfig
from gatehold.importers import LOCAL_M2M_CLIENT
from gatehold.server import GatewayWorker, Listener, StackOptions, run, serve

if TYPE_CHECKING:
    import httpx

    from gatehold.config.models import TenantConfig
    from gatehold.gateway.app import GatewayApp
    from gatehold.reload import Reloader
    from gatehold.runtime.invoker import LambdaInvoker

DEMO_PASSWORD = "Gatehold-demo-1"


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
    loaded: LoadedConfig, opts: StackOptions, *, example: bool, spa: bool, spa_problem: str | None
) -> None:
    console.print()
    console.print("[bold]Gatehold is up[/]  (Ctrl+C to stop)")
    console.print(f"  gateway            {opts.gateway_url}")
    console.print(
        f"  identity provider  {opts.idp_url}/   (issuer; discovery at /.well-known/openid-configuration)"
    )
    if spa:
        note = f"  [yellow]{spa_problem}[/]" if spa_problem else ""
        console.print(f"  single-page app    {opts.spa_url}{note}")
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
    "--reload/--no-reload",
    default=True,
    show_default=True,
    help="Hot reload: watch every function's code directory (.py files) and every configuration file "
    "(-c FILE, its imports, templates and definition files); a changed handler reloads on its next "
    "invocation, a changed configuration is validated and swapped in (the previous one keeps serving "
    "if it is invalid).",
)
def up(
    config_path: Path | None,
    host: str,
    gateway_port: int,
    idp_port: int,
    spa_port: int,
    admin_port: int,
    no_spa: bool,
    data_dir: Path,
    public_url: str | None,
    database_url: str | None,
    log_level: str,
    workers: int,
    reload: bool,
) -> None:
    """Run the gateway, the identity provider and the single-page app.

    With no -c, runs the example stack, five Auth0 + API Gateway tutorials (docs/aws-reference.md):
    Movies/Devices, PetStore, Unicorns and the wish list behind their authorizers, and a tenant with
    demo users.
    """
    from gatehold.logs import configure_logging

    configure_logging(log_level)
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
    )
    opts.data_dir.mkdir(parents=True, exist_ok=True)
    loaded = load_or_exit(config_path, opts.variables())
    for warning in validate_or_exit(loaded):
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    write_stack_state(
        opts.data_dir,
        StackState(
            config_path=str(Path(config_path).resolve()) if config_path else None,
            import_options=asdict(current_import_options()),
            idp_url=opts.idp_url,
            database_url=database_url,
            pid=os.getpid(),
        ),
    )
    try:
        worker = GatewayWorker(
            str(config_path) if config_path else None,
            opts.variables(),
            log_level,
            import_options=asdict(current_import_options()),
            reload=reload,
        )
        spa = not no_spa and loaded.config.spa is not None
        run(_run(loaded, opts, example=config_path is None, spa=spa, worker=worker, reload=reload))
    except KeyboardInterrupt:  # pragma: no cover - a second Ctrl+C
        sys.exit(130)


async def _run(
    loaded: LoadedConfig,
    opts: StackOptions,
    *,
    example: bool,
    spa: bool,
    worker: GatewayWorker | None = None,
    reload: bool = False,
) -> None:
    import httpx

    from gatehold.admin import create_admin_app
    from gatehold.gateway.app import GatewayApp
    from gatehold.idp.app import create_idp_app
    from gatehold.runtime import build_invoker

    log = logging.getLogger("gatehold")
    invoker = build_invoker(loaded)
    http_client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0))
    gateway = GatewayApp(loaded, invoker, http_client=http_client)
    idp = create_idp_app(
        loaded, public_url=opts.idp_url, data_dir=opts.data_dir, database_url=opts.database_url
    )
    listeners = [
        Listener("gateway", gateway, opts.gateway_port, lifespan="off"),
        # the gateway's HTTP/1.1 server, not uvicorn: the token endpoint's cost is mostly the
        # server's (BENCHMARKS.md, S7); the rest of the provider runs unchanged as an ASGI app
        Listener("idp", idp, opts.idp_port, lifespan="on", server="http1"),
    ]

    spa_problem = None
    if spa:
        from gatehold.spa import create_spa_app, ensure_assets

        spa_problem = ensure_assets()
        if spa_problem:
            log.warning("single-page app: %s", spa_problem)
        listeners.append(
            Listener(
                "spa",
                create_spa_app(
                    idp_url=opts.idp_url,
                    gateway_url=opts.gateway_url,
                    spa_url=opts.spa_url,
                    client_id=loaded.config.spa.client_id if loaded.config.spa else "demo-spa",
                ),
                opts.spa_port,
                lifespan="off",
            )
        )
    state = {"ready": False}
    if opts.admin_port:
        listeners.append(
            Listener("admin", create_admin_app(ready=lambda: state["ready"]), opts.admin_port, lifespan="off")
        )

    reloader = _reloader(loaded, opts, invoker, gateway, idp, http_client, worker) if reload else None
    watching: list[asyncio.Task[None]] = []

    def started() -> None:
        state["ready"] = True
        _banner(loaded, opts, example=example, spa=spa, spa_problem=spa_problem)
        log.info("ready", extra={"event": "ready"})
        if reloader is not None:
            watching.append(asyncio.create_task(reloader.watch()))

    async def shutdown() -> None:
        state["ready"] = False
        for task in watching:
            task.cancel()
        await asyncio.gather(*watching, return_exceptions=True)
        if reloader is not None:
            await reloader.aclose()
        await (reloader.invoker if reloader is not None else invoker).aclose()
        await http_client.aclose()
        log.info("stopped", extra={"event": "stopped"})

    try:
        await serve(
            listeners,
            host=opts.host,
            on_started=started,
            on_shutdown=shutdown,
            graceful_timeout=opts.graceful_timeout,
            workers=opts.workers,
            gateway_worker=worker,
            on_serving=reloader.attach if reloader is not None else None,
        )
    except OSError as exc:
        err_console.print(f"[bold red]Cannot start:[/] {exc}")
        raise SystemExit(1) from None


def _reloader(
    loaded: LoadedConfig,
    opts: StackOptions,
    invoker: LambdaInvoker,
    gateway: GatewayApp,
    idp: Any,
    http_client: httpx.AsyncClient,
    worker: GatewayWorker | None,
) -> Reloader:
    """Hot reload of the gateway and the functions (:mod:`gatehold.reload`); a changed ``tenant:``
    section is applied to the identity provider again (``IdentityProvider.startup`` is idempotent)."""
    from gatehold.importers import ImportOptions
    from gatehold.reload import Reloader

    provider = idp.state.idp

    async def apply_tenant(tenant: TenantConfig) -> None:
        provider.config = tenant
        await asyncio.to_thread(provider.startup)

    return Reloader(
        loaded,
        invoker,
        gateway,
        config_path=Path(worker.config_path) if worker and worker.config_path else None,
        variables=opts.variables(),
        options=ImportOptions.from_dict(worker.import_options) if worker else current_import_options(),
        http_client=http_client,
        data_dir=opts.data_dir,
        apply_tenant=apply_tenant,
    )
