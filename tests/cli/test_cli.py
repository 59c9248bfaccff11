"""The command line as a user meets it: --help everywhere, --version, `check` errors with file:line:key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from gatehold import __version__
from gatehold.cli import cli


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatehold", *args], capture_output=True, text=True, timeout=60
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"gatehold, version {__version__}"


def _all_commands() -> list[list[str]]:
    ctx = click.Context(cli)
    out: list[list[str]] = [[]]
    for name in cli.list_commands(ctx):
        cmd = cli.get_command(ctx, name)
        assert cmd is not None, name
        out.append([name])
        for sub in getattr(cmd, "commands", {}):
            out.append([name, sub])
    return out


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p) or "gatehold")
def test_every_command_has_help(path: list[str]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_expected_commands_are_registered() -> None:
    names = cli.list_commands(click.Context(cli))
    assert {"up", "check", "token", "users", "roles", "keys", "authorizer"} <= set(names)


def test_check_example_stack() -> None:
    result = run("check")
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    assert "5 APIs" in result.stdout


BAD_CONFIGS = [
    pytest.param(
        """functions:
  f:
    handler: app.handler
apis:
  pets:
    type: HTTP
    routes:
      GET /pets:
        integration: {type: lambda, function: f}
        authoriser: jwt
""",
        ":10: apis.pets.routes['GET /pets'].authoriser: unknown key",
        id="unknown-key",
    ),
    pytest.param(
        """functions:
  f:
    handler: app.handler
    timeout: -1
""",
        ":4: functions.f.timeout: Input should be greater than 0",
        id="bad-value",
    ),
    pytest.param(
        """apis:
  pets:
    type: HTTP
    cors:
      allow_origins: ["*"]
      allow_credentials: true
    routes:
      GET /pets:
        integration: {type: mock}
""",
        ":4: apis.pets.cors: allow_credentials cannot be true with allow_origins '*'",
        id="cors-credentials-wildcard",
    ),
    pytest.param(
        """functions:
  f:
    handler: not a handler
""",
        ":3: functions.f.handler: handler must be 'module.function'",
        id="bad-handler",
    ),
    pytest.param("apis: [1, 2\n", ":2: invalid YAML", id="yaml-syntax"),
    pytest.param(
        """apis:
  pets:
    type: REST
    stages: {prod: {}}
    routes:
      GET /pets/{id}:
        integration: {type: mock}
      GET /pets/{petId}:
        integration: {type: mock}
""",
        ":5: apis.pets.routes: path variables {id} and {petId} at the same resource level",
        id="route-conflict",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_CONFIGS)
def test_check_names_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    cfg = tmp_path / "gatehold.yaml"
    cfg.write_text(text)
    result = run("check", "-c", str(cfg))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    flat = " ".join(result.stderr.split())
    assert f"{cfg}{expected}" in flat, result.stderr
