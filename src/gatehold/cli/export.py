"""``gatehold export openapi|sam``: write the effective API of a configuration (any format)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from gatehold.cli.common import config_option, err_console, load_or_exit, validate_or_exit
from gatehold.server import StackOptions


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(document: dict[str, Any], as_json: bool) -> str:
    if as_json:
        return json.dumps(document, indent=2) + "\n"
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)


@click.command()
@click.argument("kind", type=click.Choice(["openapi", "sam"]))
@config_option
@click.option(
    "--api", "api_name", default=None, help="openapi: the API to export (needed when there are several)."
)
@click.option(
    "--api-stage",
    "stage_name",
    default=None,
    help="openapi: the stage named in `servers` (default: the first).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (default: standard output).",
)
@click.option("--json", "as_json", is_flag=True, help="JSON instead of YAML.")
def export(
    kind: str,
    config_path: Path | None,
    api_name: str | None,
    stage_name: str | None,
    output: Path | None,
    as_json: bool,
) -> None:
    """Write the effective API as an OpenAPI 3.0 document (one API, with API Gateway's extensions) or a
    SAM template (every function and API). Importing the result gives the same API."""
    from gatehold.exporters import export_openapi, export_sam

    loaded = load_or_exit(config_path, StackOptions().variables())
    validate_or_exit(loaded)
    try:
        if kind == "sam":
            document = export_sam(loaded, out_dir=output.resolve().parent if output else Path.cwd())
        else:
            apis = loaded.config.apis
            if api_name is None:
                if len(apis) != 1:
                    names = ", ".join(apis) or "(none)"
                    err_console.print(f"[bold red]error:[/] {len(apis)} APIs; choose one with --api: {names}")
                    sys.exit(2)
                api_name = next(iter(apis))
            if api_name not in apis:
                err_console.print(f"[bold red]error:[/] no API {api_name!r}; the APIs are {', '.join(apis)}")
                sys.exit(2)
            document = export_openapi(api_name, apis[api_name], loaded.config.gateway, stage=stage_name)
    except ValueError as exc:
        err_console.print(f"[bold red]cannot export:[/] {exc}")
        sys.exit(2)
    text = dump(document, as_json)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {output}")
