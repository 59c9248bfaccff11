"""Shared pieces of the command line: option sets, config loading, error presentation."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from gatehold.config import ConfigError, LoadedConfig, load_config

F = TypeVar("F", bound=Callable[..., Any])

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def main_group(commands: Mapping[str, tuple[str, str]]) -> type[click.Group]:
    """A group that lists ``commands`` in order and imports each one's module on first use."""

    class LazyGroup(click.Group):
        def list_commands(self, ctx: click.Context) -> list[str]:
            return list(commands)

        def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
            if cmd_name not in commands:
                return None
            module, attr = commands[cmd_name]
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command

    return LazyGroup


def example_config_path() -> Path:
    """The bundled example stack (shared/seeds wired together)."""
    return Path(str(resources.files("gatehold.examples").joinpath("gatehold.yaml")))


def load_or_exit(path: str | Path | None, variables: Mapping[str, str]) -> LoadedConfig:
    """Load the configuration, or print every problem as file:line: key: message and exit 2."""
    target = Path(path) if path else example_config_path()
    try:
        return load_config(target, variables=variables)
    except ConfigError as exc:
        err_console.print(f"[bold red]Configuration error[/] in {target}:")
        for problem in exc.problems:
            err_console.print(f"  {problem}", markup=False)
        sys.exit(2)


def validate_or_exit(loaded: LoadedConfig) -> None:
    """The checks that need more than the schema (route conflicts, authorizer settings), no IO."""
    from gatehold.gateway.authorizers import check_authorizers
    from gatehold.gateway.routing import compile_apis

    try:
        compile_apis(loaded)
        check_authorizers(loaded)
    except ConfigError as exc:
        err_console.print(f"[bold red]Configuration error[/] in {loaded.path}:")
        for problem in exc.problems:
            err_console.print(f"  {problem}", markup=False)
        sys.exit(2)


def config_option(f: F) -> F:
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="gatehold.yaml to use (default: the bundled example stack).",
    )(f)


def data_dir_option(f: F) -> F:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(".gatehold"),
        show_default=True,
        help="Where the identity provider's store, keys and example data live.",
    )(f)
