"""``gatehold run -- <command>`` (alias ``gatehold test-env``): a stack for the length of a command.

For tests in any language (``gatehold run -- npm test``, ``gatehold run -- go test ./...``): start
``gatehold up`` on free ports (:mod:`gatehold.testing.stack`), wait until it is ready, run the command
with the stack's URLs in its environment (``GATEHOLD_GATEWAY_URL``, ``GATEHOLD_ISSUER`` …, see
:meth:`~gatehold.testing.stack.Stack.environment`), stop the stack when the command exits, and exit
with the command's status, as ``env`` or ``timeout`` would.

Exit statuses of its own follow ``docker run``'s and ``env``'s: 125 the stack did not start (its
output is printed), 126 the command cannot be run, 127 the command was not found; a command killed by
a signal gives 128 + the signal's number, as a shell says it.

Signals: the stack runs in a process group of its own, so the terminal's Ctrl+C reaches the command
(which is in the foreground, as if run alone) and not the stack, which the command may still need
while it stops; SIGINT, SIGTERM and SIGHUP sent to ``gatehold run`` itself are passed on to the
command (a Ctrl+C that the terminal already delivered to it is not sent twice).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from gatehold.cli.common import err_console, import_options

if TYPE_CHECKING:
    from gatehold.testing.stack import Stack

#: ``gatehold run``'s own exit statuses (the command's otherwise)
STACK_FAILED = 125
CANNOT_RUN = 126
NOT_FOUND = 127

_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def up_arguments(
    *,
    import_format: str,
    parameter_overrides: tuple[str, ...],
    issuer_alias: tuple[str, ...],
    ignore: tuple[str, ...],
    value: tuple[str, ...],
    stage: str | None,
) -> list[str]:
    """The import options given to ``gatehold run``, as ``gatehold up`` takes them."""
    args: list[str] = [] if import_format == "auto" else ["--format", import_format]
    for flag, values in (
        ("--parameter-overrides", parameter_overrides),
        ("--issuer-alias", issuer_alias),
        ("--ignore", ignore),
        ("--value", value),
    ):
        for item in values:
            args += [flag, item]
    return args + (["--stage", stage] if stage else [])


def exit_status(returncode: int) -> int:
    """A child's status as a shell reports it: killed by signal N is 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def _in_foreground() -> bool:
    """Whether this process's group is its terminal's foreground group (a Ctrl+C typed there reached
    every process of the group, the command included)."""
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd):
                return os.tcgetpgrp(fd) == os.getpgrp()
        except OSError:
            continue
    return False


@click.command(context_settings={"allow_interspersed_args": False})
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="gatehold.yaml, SAM or CloudFormation template, OpenAPI document or serverless.yml "
    "(default: the bundled example stack).",
)
@import_options
@click.option("--gateway-port", type=int, default=None, help="API gateway port (default: a free port).")
@click.option("--idp-port", type=int, default=None, help="Identity provider port (default: a free port).")
@click.option("--spa-port", type=int, default=None, help="Single-page app port (default: a free port).")
@click.option(
    "--admin-port", type=int, default=None, help="Admin port: /readyz, /metrics (default: a free port)."
)
@click.option(
    "--dynamodb-port", type=int, default=None, help="Local DynamoDB endpoint's port (default: a free port)."
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The stack's data directory (default: a new temporary one, removed afterwards).",
)
@click.option(
    "--test-clock",
    is_flag=True,
    help="Run the stack with `gatehold up --test-clock` (the admin port's /clock freezes and advances it).",
)
@click.option(
    "--timeout",
    "start_timeout",
    default=120.0,
    show_default=True,
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    help="How long the stack may take to be ready.",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(
    config_path: Path | None,
    import_format: str,
    parameter_overrides: tuple[str, ...],
    issuer_alias: tuple[str, ...],
    ignore: tuple[str, ...],
    value: tuple[str, ...],
    stage: str | None,
    gateway_port: int | None,
    idp_port: int | None,
    spa_port: int | None,
    admin_port: int | None,
    dynamodb_port: int | None,
    data_dir: Path | None,
    test_clock: bool,
    start_timeout: float,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND with a Gatehold stack up, and stop the stack when it exits.

    \b
      gatehold run -- npm test
      gatehold run -c template.yaml --issuer-alias https://my.auth0.com/ -- go test ./...

    COMMAND gets the stack's URLs as GATEHOLD_GATEWAY_URL, GATEHOLD_ISSUER, GATEHOLD_IDP_URL,
    GATEHOLD_JWKS_URL, GATEHOLD_TOKEN_URL, GATEHOLD_ADMIN_URL, GATEHOLD_DATA_DIR, and
    GATEHOLD_SPA_URL and GATEHOLD_DYNAMODB_URL when the stack serves them. The exit status is
    COMMAND's; 125 if the stack did not start, 126 if COMMAND cannot run, 127 if it is not found.
    """
    from gatehold.testing.stack import new_stack

    if os.sep not in command[0] and shutil.which(command[0]) is None:
        err_console.print(f"[bold red]gatehold run:[/] {command[0]}: command not found", highlight=False)
        sys.exit(NOT_FOUND)
    temporary = data_dir is None
    directory = Path(tempfile.mkdtemp(prefix="gatehold-run-")) if data_dir is None else data_dir
    extra = up_arguments(
        import_format=import_format,
        parameter_overrides=parameter_overrides,
        issuer_alias=issuer_alias,
        ignore=ignore,
        value=value,
        stage=stage,
    )
    if test_clock:
        extra.append("--test-clock")
    stack = new_stack(directory, config_path.resolve() if config_path else None, extra)
    stack.own_process_group = True
    stack.gateway_port = gateway_port or stack.gateway_port
    stack.idp_port = idp_port or stack.idp_port
    stack.spa_port = spa_port or stack.spa_port
    stack.admin_port = admin_port or stack.admin_port
    stack.dynamodb_port = dynamodb_port or stack.dynamodb_port
    try:
        code = _run_with(stack, list(command), start_timeout)
    finally:
        if temporary:
            shutil.rmtree(directory, ignore_errors=True)
    sys.exit(code)


def _run_with(stack: Stack, command: list[str], start_timeout: float) -> int:
    from gatehold.testing.stack import StackStartError

    try:
        stack.start(timeout=start_timeout)
    except StackStartError as exc:
        err_console.print(f"[bold red]gatehold run: the stack did not start:[/] {exc}", highlight=False)
        return STACK_FAILED
    except KeyboardInterrupt:
        stack.stop()
        return 130
    try:
        err_console.print(
            f"gatehold run: gateway {stack.gateway_url}, issuer {stack.issuer}; running {command[0]}",
            markup=False,
        )
        return _command(command, {**os.environ, **stack.environment()})
    finally:
        code = stack.stop()
        if code not in (0, None):
            err_console.print(
                f"[yellow]gatehold run: the stack stopped with {code}[/]; its output:\n{stack.output()}",
                highlight=False,
            )


def _command(command: list[str], env: dict[str, str]) -> int:
    try:
        proc = subprocess.Popen(command, env=env)
    except FileNotFoundError:
        err_console.print(f"[bold red]gatehold run:[/] {command[0]}: command not found", highlight=False)
        return NOT_FOUND
    except PermissionError as exc:
        err_console.print(f"[bold red]gatehold run:[/] {command[0]}: {exc.strerror}", highlight=False)
        return CANNOT_RUN

    def forward(sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGINT and _in_foreground():
            return  # the terminal's Ctrl+C reached the command already
        if proc.poll() is None:
            proc.send_signal(sig)

    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    try:
        return exit_status(proc.wait())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
