"""``gatehold check``: validate a configuration without starting anything."""

from __future__ import annotations

from pathlib import Path

import click

from gatehold.cli.common import config_option, console, load_or_exit, validate_or_exit
from gatehold.server import StackOptions


@click.command()
@config_option
def check(config_path: Path | None) -> None:
    """Validate a gatehold.yaml: every problem is printed as file:line: key: message (exit 2)."""
    loaded = load_or_exit(config_path, StackOptions().variables())
    validate_or_exit(loaded)
    cfg = loaded.config
    routes = sum(len(api.routes) for api in cfg.apis.values())
    console.print(
        f"[green]OK[/] {loaded.path}: {len(cfg.apis)} APIs, {routes} routes, {len(cfg.functions)} functions, "
        f"{len(cfg.tenant.applications)} applications, {len(cfg.tenant.users)} users"
    )
