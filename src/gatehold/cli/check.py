"""``gatehold check``: validate a configuration (any format) and print the effective API."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from gatehold.cli.common import config_option, console, err_console, load_or_exit, print_problems, validate
from gatehold.cli.describe import as_json, describe
from gatehold.config import ConfigError
from gatehold.config.models import ApiConfig, TableConfig, ThrottleConfig
from gatehold.server import StackOptions

_FORMATS = {
    "gatehold": "gatehold.yaml",
    "sam": "SAM template",
    "cloudformation": "CloudFormation template",
    "openapi": "OpenAPI document",
    "serverless": "serverless.yml",
}


@click.command()
@config_option
@click.option("--gateway-port", default=8000, show_default=True, help="Port the URLs are shown for.")
@click.option("--idp-port", default=9000, show_default=True, help="Identity provider port (the issuer).")
@click.option("--json", "as_json_output", is_flag=True, help="Print the effective API as JSON.")
def check(config_path: Path | None, gateway_port: int, idp_port: int, as_json_output: bool) -> None:
    """Validate a configuration and print the effective API.

    FILE may be a gatehold.yaml, a SAM or CloudFormation template, an OpenAPI or Swagger document or a
    serverless.yml. Every problem is printed as file:line: key.path: message (exit 2); nothing is
    imported or run. On success: each API and route with its URL, integration and authorizer, each
    function, then what the import ignored or adapted to run locally.
    """
    opts = StackOptions(gateway_port=gateway_port, idp_port=idp_port)
    loaded = load_or_exit(config_path, opts.variables())
    problems, warnings = validate(loaded)
    if as_json_output:
        click.echo(
            json.dumps(
                as_json(
                    loaded,
                    opts.gateway_url,
                    {"problems": [str(p) for p in problems], "warnings": warnings},
                ),
                indent=2,
            )
        )
        sys.exit(2 if problems else 0)
    if problems:
        print_problems(loaded.where().file, ConfigError(problems))
        sys.exit(2)
    _print(loaded, opts.gateway_url, warnings)


def _shown_dir(base: Path, code_path: str) -> str:
    """A code directory as the user would write it: relative to the configuration file when below it."""
    target = (base / code_path).resolve()
    try:
        relative = target.relative_to(base.resolve())
    except ValueError:
        return str(target)
    return f"{relative}/" if str(relative) != "." else "./"


def _throttle(limits: ThrottleConfig) -> str:
    return f"throttle {limits.rate_limit:g} rps, burst {limits.burst_limit}"


def _api_settings(api: ApiConfig) -> list[str]:
    """What else the API does to every request: stage throttling, gateway responses, binary types."""
    lines: list[str] = []
    for stage_name, stage in api.stages.items():
        parts = [_throttle(stage.throttling)] if stage.throttling else []
        parts += [f"{key}: {_throttle(limits)}" for key, limits in stage.route_throttling.items()]
        if stage.variables:
            parts.append("variables " + ", ".join(f"{k}={v}" for k, v in stage.variables.items()))
        if stage.access_log:
            fmt = stage.access_log.format if stage.access_log.format in ("json", "clf") else "own format"
            parts.append(f"access log ({fmt}) to {stage.access_log.destination}")
        if parts:
            lines.append(f"stage {stage_name}: " + "; ".join(parts))
    if api.gateway_responses:
        shown = []
        for kind, response in api.gateway_responses.items():
            status = f" {response.status_code}" if response.status_code else ""
            count = len(response.headers)
            headers = f" ({count} header{'s' if count > 1 else ''})" if count else ""
            body = " (body)" if response.template is not None else ""
            shown.append(f"{kind}{status}{headers}{body}")
        lines.append("gateway responses: " + ", ".join(shown))
    if api.binary_media_types:
        lines.append("binary media types: " + ", ".join(api.binary_media_types))
    return lines


def _table_keys(table: TableConfig) -> str:
    """``id S`` / ``customer S, placed N; indexes byStatus (global), byTotal (local)``."""
    keys = ", ".join(f"{k.name} {k.type}" for k in (table.partition_key, table.sort_key) if k)
    indexes = [f"{n} (global)" for n in table.global_secondary_indexes]
    indexes += [f"{n} (local)" for n in table.local_secondary_indexes]
    return keys + (f"; indexes {', '.join(indexes)}" if indexes else "")


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _print(loaded: object, gateway_url: str, warnings: list[str]) -> None:
    from gatehold.config.loader import LoadedConfig

    assert isinstance(loaded, LoadedConfig)
    cfg = loaded.config
    routes = sum(len(api.routes) for api in cfg.apis.values())
    counts = ", ".join(
        _count(n, word)
        for n, word in (
            (len(cfg.apis), "API"),
            (routes, "route"),
            (len(cfg.functions), "function"),
            (len(cfg.tenant.applications), "application"),
            (len(cfg.tenant.users), "user"),
        )
    )
    shown = loaded.where().file  # the path as given, as problems name it
    console.print(
        f"[green]OK[/] {shown} ({_FORMATS.get(loaded.format, loaded.format)}): {counts}", markup=True
    )
    for view in describe(loaded, gateway_url):
        console.print()
        stages = "  ".join(f"stage {stage}: {url}" for stage, url in view.stages.items())
        cors = ", CORS" if view.cors else ""
        console.print(f"[bold]{view.name}[/] ({view.type} API{cors})  {stages}", markup=True)
        others = list(view.stages)[1:]
        also = f"  (and stage{'s' if len(others) > 1 else ''} {', '.join(others)})" if others else ""
        for route in view.routes:
            method = "ANY" if route.route_key == "$default" else route.route_key.split(" ", 1)[0]
            label = " ($default route)" if route.route_key == "$default" else ""
            console.print(f"  {method} {route.urls[0]}{label}{also}", markup=False)
            console.print(f"      {route.integration}", markup=False)
            console.print(f"      {route.authorizer}", markup=False, style="dim")
        for line in _api_settings(cfg.apis[view.name]):
            console.print(f"  {line}", markup=False)
    if cfg.gateway.usage_plans:
        console.print()
        console.print("[bold]Usage plans[/]")
        for name, plan in cfg.gateway.usage_plans.items():
            limits = _throttle(plan.throttling) if plan.throttling else "no throttle"
            quota = f", quota {plan.quota.limit} per {plan.quota.period.lower()}" if plan.quota else ""
            keys = ", ".join(plan.api_keys) or "no keys"
            console.print(
                f"  {name}: {', '.join(plan.api_stages)}; {limits}{quota}; API keys: {keys}", markup=False
            )
    if cfg.functions:
        console.print()
        console.print("[bold]Functions[/]")
        for name, fn in cfg.functions.items():
            code = f"  {_shown_dir(loaded.base_dir, fn.code_path)}" if fn.code_path else ""
            console.print(f"  {name}  {fn.handler}  {fn.runtime}{code}", markup=False)
    if cfg.tables:
        console.print()
        console.print("[bold]Tables[/] (DynamoDB, served by gatehold up: docs/dynamodb.md)")
        for name, table in cfg.tables.items():
            console.print(f"  {name}  {_table_keys(table)}", markup=False)
    for title, findings in (("Ignored (no local effect)", loaded.ignored), ("Adapted", loaded.notes)):
        if findings:
            console.print()
            console.print(f"[bold]{title}[/]: {len(findings)}")
            for finding in findings:
                console.print(f"  {finding}", markup=False)
    if warnings:
        err_console.print()
        for warning in warnings:
            err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
