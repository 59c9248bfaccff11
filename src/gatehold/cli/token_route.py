"""``gatehold token --route``: a token for one route of the running stack, or one per failure mode.

::

    gatehold token --route "GET /unicorns"                          a token that passes (200)
    gatehold token --route "GET /unicorns" --fail expired           one that fails, and the response
    gatehold token --route "GET /unicorns" --fail list              the modes, each with a command
    gatehold token --route "GET /pets" --all-failures               every mode's token and response (JSON)

The token goes to stdout (so ``TOKEN=$(gatehold token --route …)`` works), what the gateway will
answer to stderr. The route's authorizer decides what the token holds (:mod:`gatehold.testing.tokens`).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from gatehold.cli.common import err_console
from gatehold.config import ConfigError
from gatehold.importers import ImportOptions
from gatehold.stack_state import STACK_STATE, read_stack_state
from gatehold.testing.tokens import FAILURE_MODES, MODE_DESCRIPTIONS, VALID, TokenRequestError, Tokens


def program() -> str:
    """How the user runs Gatehold, for hints runnable as printed: ``gatehold`` on the PATH, else the
    checkout's ``./gatehold``, else this Python's ``-m gatehold``."""
    if shutil.which("gatehold"):
        return "gatehold"
    here = Path("gatehold")
    if here.is_file() and os.access(here, os.X_OK):
        return "./gatehold"
    return f"{shlex.quote(sys.executable)} -m gatehold"


def _command(
    data_dir: Path, config: Path | None, options: ImportOptions, route: str, api: str, *extra: str
) -> str:
    words = [program(), "token"]
    if data_dir != Path(".gatehold"):
        words += ["--data-dir", shlex.quote(str(data_dir))]
    if config is not None:  # what shaped the configuration read from it (an aliased issuer …)
        words += ["-c", shlex.quote(str(config))]
        for name, value in options.parameter_overrides.items():
            words += ["--parameter-overrides", shlex.quote(f"{name}={value}")]
        for alias in options.issuer_aliases:
            words += ["--issuer-alias", shlex.quote(alias)]
        if options.stage:
            words += ["--stage", shlex.quote(options.stage)]
    words += ["--route", shlex.quote(route), "--api", shlex.quote(api), *extra]
    return " ".join(words)


def _fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    sys.exit(code)


def _describe(expected: dict[str, Any]) -> str:
    body = expected["body"]
    text = f"{expected['status']}" + ("" if body is None else f" {json.dumps(body, separators=(',', ':'))}")
    for name, value in expected["headers"].items():
        text += f"\n    {name}: {value}"
    return text


def mint_for_route(
    *,
    config_path: Path | None,
    data_dir: Path,
    options: ImportOptions,
    route: str,
    api: str | None,
    user: str | None,
    scope: str | None,
    fail: str | None,
    all_failures: bool,
    as_json: bool,
) -> None:
    """The ``--route`` half of ``gatehold token`` (``gatehold.cli.idp.token`` delegates here)."""
    state = read_stack_state(data_dir) if config_path is None else None
    if state is not None:
        err_console.print(
            f"following the stack started with {state.config_path or 'the example stack'} "
            f"(issuer {state.idp_url}/, {data_dir / STACK_STATE})",
            markup=False,
        )
    try:
        tokens = Tokens.for_stack(data_dir, config_path, options=options)
    except ConfigError as exc:
        _fail(str(exc), 2)
        return
    try:
        check = tokens.check(route, api)
        modes = tokens.modes(route, api)
        route_key, api_name = check.route_key, check.api
        if fail == "list":
            _print_modes(tokens, modes, data_dir, config_path, options, route_key, api_name, as_json)
            return
        if all_failures:
            out: dict[str, Any] = {"route": route_key, "api": api_name, "modes": {}}
            for mode in (VALID, *FAILURE_MODES):
                reason = modes.get(mode)
                if reason is not None:
                    out["modes"][mode] = {"applies": False, "reason": reason}
                    continue
                token = tokens.passing(route_key, api_name, user=user) if mode == VALID else None
                out["modes"][mode] = {
                    "applies": True,
                    "token": token or tokens.failing(mode, route_key, api_name),
                    "expected": tokens.expected(mode, route_key, api_name).to_json(),
                }
            click.echo(json.dumps(out, indent=2))
            return
        mode = fail or VALID
        if mode == VALID:
            token = tokens.passing(route_key, api_name, user=user, scopes=scope.split() if scope else None)
        else:
            if user is not None or scope is not None:
                _fail("--user and --scope shape the passing token; a --fail token is the route's own, broken")
            token = tokens.failing(mode, route_key, api_name)
        expected = tokens.expected(mode, route_key, api_name).to_json()
    except TokenRequestError as exc:
        _fail(str(exc))
        return
    if as_json:
        payload = {"route": route_key, "api": api_name, "mode": mode, "token": token, "expected": expected}
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(token)
    err_console.print(f"{route_key} of API {api_name}, {mode}: expect {_describe(expected)}", markup=False)


def _print_modes(
    tokens: Tokens,
    modes: dict[str, str | None],
    data_dir: Path,
    config_path: Path | None,
    options: ImportOptions,
    route_key: str,
    api_name: str,
    as_json: bool,
) -> None:
    rows: list[dict[str, Any]] = []
    for mode in (VALID, *FAILURE_MODES):
        reason = modes.get(mode)
        row: dict[str, Any] = {"mode": mode, "breaks": MODE_DESCRIPTIONS[mode], "applies": reason is None}
        if reason is None:
            row["expected"] = tokens.expected(mode, route_key, api_name).to_json()
            extra = () if mode == VALID else ("--fail", mode)
            row["command"] = _command(data_dir, config_path, options, route_key, api_name, *extra)
        else:
            row["reason"] = reason
        rows.append(row)
    if as_json:
        click.echo(json.dumps({"route": route_key, "api": api_name, "modes": rows}, indent=2))
        return
    click.echo(f"{route_key} of API {api_name}:")
    for row in rows:
        if row["applies"]:
            click.echo(f"  {row['mode']:<16}expect {_describe(row['expected'])}")
            click.echo(f"    {row['command']}")
        else:
            click.echo(f"  {row['mode']:<16}does not apply: {row['reason']}")
