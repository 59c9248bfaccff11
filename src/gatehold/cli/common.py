"""Shared pieces of the command line: option sets, config loading, error presentation."""

from __future__ import annotations

import importlib
import re
import shlex
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from gatehold.config import ConfigError, LoadedConfig, load_config
from gatehold.config.problems import ConfigProblem
from gatehold.importers.base import ImportOptions
from gatehold.runtime.locate import check_handler, function_code_path

F = TypeVar("F", bound=Callable[..., Any])

console = Console(highlight=False, soft_wrap=True, emoji=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


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
    """The bundled example stack (the five Auth0 + API Gateway tutorials, docs/aws-reference.md)."""
    return Path(str(resources.files("gatehold.examples").joinpath("gatehold.yaml")))


def load_or_exit(
    path: str | Path | None, variables: Mapping[str, str], options: ImportOptions | None = None
) -> LoadedConfig:
    """Load the configuration (any format), or print every problem as file:line: key: message and
    exit 2. ``options`` default to the import options given on this command line."""
    target = Path(path) if path else example_config_path()
    if options is None:
        options = current_import_options()
    try:
        return load_config(target, variables=variables, options=options)
    except ConfigError as exc:
        print_problems(target, exc)
        sys.exit(2)


def print_problems(target: str | Path | None, exc: ConfigError) -> None:
    count = len(exc.problems)
    err_console.print(
        f"[bold red]Configuration error{'s' if count > 1 else ''}[/] in {target}"
        + (f" ({count} problems)" if count > 1 else "")
        + ":"
    )
    for problem in exc.problems:
        err_console.print(f"  {problem}", markup=False)


# --------------------------------------------------------------------------------------------------
# options for imported documents (SAM, CloudFormation, OpenAPI, serverless.yml)
# --------------------------------------------------------------------------------------------------

_IMPORT_OPTIONS = "gatehold.import_options"


def current_import_options() -> ImportOptions:
    """The import options of the command being run (defaults outside a command)."""
    ctx = click.get_current_context(silent=True)
    stored = ctx.meta.get(_IMPORT_OPTIONS) if ctx is not None else None
    return stored if isinstance(stored, ImportOptions) else ImportOptions()


_SAM_PARAMETER = re.compile(r"ParameterKey=(?P<key>[^,]+),ParameterValue=(?P<value>.*)", re.S)


def parameter_overrides(values: tuple[str, ...]) -> dict[str, str]:
    """``--parameter-overrides`` as ``sam local start-api`` reads it: ``Key=Value`` pairs or
    ``ParameterKey=Key,ParameterValue=Value``, separated by spaces, shell quotes kept
    (``'Name="a b"'``); the option may be repeated."""
    out: dict[str, str] = {}
    for item in values:
        try:
            words = shlex.split(item)
        except ValueError as exc:
            raise click.BadParameter(f"{item!r}: {exc}") from None
        for word in words:
            m = _SAM_PARAMETER.fullmatch(word)
            if m is not None:
                out[m.group("key")] = m.group("value")
                continue
            key, sep, value = word.partition("=")
            if not sep or not key:
                raise click.BadParameter(
                    f"{word!r} is not Key=Value (or ParameterKey=Key,ParameterValue=Value)"
                )
            out[key] = value
    return out


def _values(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not REF=VALUE")
        out[key] = value
    return out


def _store_import_option(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    current = ctx.meta.get(_IMPORT_OPTIONS, ImportOptions())
    name = param.name
    if name == "parameter_overrides":
        current = replace(current, parameter_overrides=parameter_overrides(value))
    elif name == "ignore":
        current = replace(current, ignore=tuple(value))
    elif name == "issuer_alias":
        current = replace(current, issuer_aliases=tuple(value))
    elif name == "value":
        current = replace(current, values=_values(value))
    elif name == "stage" and value:
        current = replace(current, stage=value)
    elif name == "import_format" and value:
        current = replace(current, format=value)
    ctx.meta[_IMPORT_OPTIONS] = current


def import_options(f: F) -> F:
    """The options every command that loads a configuration takes for imported documents."""
    opts = [
        click.option(
            "--format",
            "import_format",
            type=click.Choice(["auto", "gatehold", "sam", "cloudformation", "openapi", "serverless"]),
            default="auto",
            show_default=True,
            help="Format of -c FILE (detected from its content by default).",
        ),
        click.option(
            "--parameter-overrides",
            "parameter_overrides",
            multiple=True,
            metavar="KEY=VALUE ...",
            help="Template parameters, as `sam local start-api --parameter-overrides` takes them.",
        ),
        click.option(
            "--issuer-alias",
            "issuer_alias",
            multiple=True,
            metavar="ISSUER",
            help="A JWT issuer of the template (glob: 'https://*.auth0.com/') to serve from the local "
            "identity provider; its audiences and scopes are created in the local tenant.",
        ),
        click.option(
            "--ignore",
            "ignore",
            multiple=True,
            metavar="KEY.PATH",
            help="Run without this refused property (the key path an error names; '*' is one key).",
        ),
        click.option(
            "--value",
            "value",
            multiple=True,
            metavar="REF=VALUE",
            help="A value for what cannot be resolved locally, e.g. 'ssm:/app/secret=abc', "
            "'ImportValue:Name=x'.",
        ),
        click.option(
            "--stage",
            "stage",
            default=None,
            help="The stage: serverless.yml's (as `sls --stage`), an OpenAPI document's REST stage, or the "
            "stage of a template's API that no stage deploys.",
        ),
    ]
    for option in reversed(opts):
        f = option(f)
    return f


def validate(loaded: LoadedConfig) -> tuple[list[ConfigProblem], list[str]]:
    """Everything that needs more than the schema, without IO or running user code: the route
    tables, the authorizers, the integrations and every Python handler (found and parsed, not
    imported). Returns every problem, and warnings for what could not be decided."""
    from gatehold.gateway.authorizers import check_authorizers
    from gatehold.gateway.integrations import check_integrations
    from gatehold.gateway.routing import compile_apis

    problems: list[ConfigProblem] = []
    for check in (compile_apis, check_authorizers, check_integrations):
        try:
            check(loaded)
        except ConfigError as exc:
            problems.extend(exc.problems)
    warnings: list[str] = []
    problems.extend(node_problems(loaded, warnings))
    for name, fn in loaded.config.functions.items():
        if not fn.runtime.startswith("python"):
            continue
        code_path = function_code_path(fn.handler, fn.code_path, loaded.base_dir)
        found = check_handler(fn.handler, code_path)
        if found.status == "missing":
            problems.append(loaded.problem(("functions", name, "handler"), found.message))
        elif found.status == "unknown":
            warnings.append(f"{loaded.where('functions', name, 'handler')}: {found.message}")
        running = f"python{sys.version_info.major}.{sys.version_info.minor}"
        if fn.runtime not in ("python", running):
            warnings.append(
                f"{loaded.where('functions', name, 'runtime')}: {fn.runtime} runs on this machine's {running}"
            )
    hooks = loaded.config.tenant.hooks
    hooks_path = (loaded.base_dir / hooks.code_path).resolve() if hooks.code_path else None
    for kind in ("post_login", "credentials_exchange"):
        for i, hook in enumerate(getattr(hooks, kind)):
            found = check_handler(hook, hooks_path)
            if found.status == "missing":
                problems.append(loaded.problem(("tenant", "hooks", kind, i), found.message))
            elif found.status == "unknown":
                warnings.append(f"{loaded.where('tenant', 'hooks', kind, i)}: {found.message}")
    problems = sorted(dict.fromkeys(problems), key=lambda p: (p.file, p.line or 0))
    return problems, list(dict.fromkeys(warnings))  # a Globals value is shared by many functions


def node_problems(loaded: LoadedConfig, warnings: list[str]) -> list[ConfigProblem]:
    """Node.js functions: ``node`` installed, each handler's file and export found (read, not run),
    dependencies declared but not installed yet (a warning: ``gatehold up`` installs them)."""
    from gatehold.runtime import nodejs, npm

    problems: list[ConfigProblem] = []
    functions = {name: fn for name, fn in loaded.config.functions.items() if nodejs.is_node(fn.runtime)}
    if not functions:
        return problems
    node = nodejs.find_node()
    for name, fn in functions.items():
        if node is None:
            problems.append(
                loaded.problem(
                    ("functions", name, "runtime"),
                    f"{fn.runtime} needs Node.js, and there is no node on PATH (install Node.js"
                    f" {nodejs.declared_major(fn.runtime)}, or set GATEHOLD_NODE)",
                )
            )
        elif nodejs.declared_major(fn.runtime) != node.major:
            warnings.append(
                f"{loaded.where('functions', name, 'runtime')}: {fn.runtime} runs on this machine's"
                f" Node.js {node.version}"
            )
        root = nodejs.task_root(fn.code_path, loaded.base_dir)
        found = nodejs.check_handler(fn.handler, root)
        if found.status == "missing":
            problems.append(loaded.problem(("functions", name, "handler"), found.message))
        elif found.status == "unknown":
            warnings.append(f"{loaded.where('functions', name, 'handler')}: {found.message}")
        if npm.needs_install(root):
            warnings.append(
                f"{loaded.where('functions', name, 'code_path')}: {root / 'package.json'}: dependencies not"
                " installed yet (gatehold up installs them)"
            )
    return problems


def prepare_node_functions(loaded: LoadedConfig) -> None:
    """``gatehold up``: say which ``node`` runs the Node.js functions (one line), and install their
    dependencies where they are not yet; a failed install exits 2, naming the functions."""
    from gatehold.runtime import nodejs, npm

    functions = {name: fn for name, fn in loaded.config.functions.items() if nodejs.is_node(fn.runtime)}
    node = nodejs.find_node()
    if not functions or node is None:  # (no node: validate said so)
        return
    listed = ", ".join(f"{name} ({fn.runtime})" for name, fn in functions.items())
    err_console.print(f"Node.js {node.version} ({node.path}) runs {listed}", markup=False)
    by_dir: dict[Path, list[str]] = {}
    for name, fn in functions.items():
        by_dir.setdefault(nodejs.task_root(fn.code_path, loaded.base_dir), []).append(name)
    for code_dir, names in by_dir.items():
        try:
            npm.install(code_dir, names)
        except npm.InstallError as exc:
            err_console.print(f"[red]error:[/] {exc}", highlight=False)
            sys.exit(2)


def validate_or_exit(loaded: LoadedConfig) -> list[str]:
    """:func:`validate`, printing every problem as file:line: key: message and exiting 2 if any;
    returns the warnings."""
    problems, warnings = validate(loaded)
    if problems:
        print_problems(loaded.where().file, ConfigError(problems))
        sys.exit(2)
    return warnings


def config_option(f: F) -> F:
    """``-c FILE`` and the options for imported documents."""
    f = click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="gatehold.yaml, SAM or CloudFormation template, OpenAPI document or serverless.yml "
        "(default: the bundled example stack).",
    )(f)
    return _with_import_callbacks(import_options(f))


def _with_import_callbacks(f: F) -> F:
    params = getattr(f, "__click_params__", [])
    for param in params:
        if param.name in {"import_format", "parameter_overrides", "issuer_alias", "ignore", "value", "stage"}:
            param.expose_value = False
            param.callback = _store_import_option
    return f


def data_dir_option(f: F) -> F:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(".gatehold"),
        show_default=True,
        help="Where the identity provider's store, keys and example data live.",
    )(f)
