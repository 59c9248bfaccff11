"""`gatehold token`, `users`, `roles`, `keys` on the store, no server running."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner

from gatehold.cli.idp import keys, roles, token, users


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


def run(command: object, args: list[str], data_dir: Path) -> str:
    result = CliRunner().invoke(command, [*args, "--data-dir", str(data_dir)])  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    return result.output


def test_token_client_credentials_like_the_test_tab(data_dir: Path) -> None:
    raw = run(token, ["--client", "demo-m2m", "--audience", "https://unicorns-api"], data_dir).strip()
    claims = jwt.decode(raw, options={"verify_signature": False})
    assert claims["sub"] == "demo-m2m@clients"
    assert claims["scope"] == "read:unicorn list:unicorns"
    assert claims["iss"] == "http://localhost:9000/"


@pytest.mark.parametrize(
    ("user", "audience", "scope", "granted"),
    [
        pytest.param(
            "rider@example.com",
            "https://unicorns-api",
            "read:unicorn list:unicorns",
            "read:unicorn",
            id="rider-scope-rule",
        ),
        pytest.param(
            "movie-fan@example.com", "https://StreamingResourceServer", "", "read:Movies", id="hook-amazon"
        ),
    ],
)
def test_token_for_user_uses_scope_rules_and_hooks(
    data_dir: Path, user: str, audience: str, scope: str, granted: str
) -> None:
    out = run(
        token,
        ["--user", user, "--client", "demo-spa", "--audience", audience, "--scope", scope, "--json"],
        data_dir,
    )
    assert json.loads(out)["scope"] == granted


def test_token_refusal_exits_nonzero(data_dir: Path) -> None:
    result = CliRunner().invoke(
        token,
        [
            "--client",
            "demo-m2m",
            "--audience",
            "https://StreamingResourceServer",
            "--data-dir",
            str(data_dir),
        ],
    )
    assert result.exit_code == 1
    assert "access_denied" in result.output


def test_users_roles_keys(data_dir: Path) -> None:
    run(users, ["add", "ops@example.com", "--password", "Ops-pass-123", "--role", "unicorn-rider"], data_dir)
    listing = run(users, ["list"], data_dir)
    assert "ops@example.com" in listing
    assert "unicorn-rider" in listing
    run(roles, ["assign", "ops@example.com", "unicorn-trainer"], data_dir)
    assert "unicorn-rider,unicorn-trainer" in run(users, ["list"], data_dir)
    run(roles, ["unassign", "ops@example.com", "unicorn-trainer"], data_dir)
    assert "unicorn-trainer" in run(roles, ["list"], data_dir)
    before = run(keys, ["list"], data_dir)
    run(keys, ["rotate"], data_dir)
    after = run(keys, ["list"], data_dir)
    assert before != after
    assert {"current", "next", "previous"} <= {line.split("\t")[1] for line in after.splitlines()}
