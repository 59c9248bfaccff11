"""`gatehold db upgrade | current | check` as a user runs them (a real `python -m gatehold` process), on
SQLite in the data directory and on PostgreSQL (a database of this session's own, dropped at its end),
and `gatehold up` refusing a database it must not touch."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from gatehold.idp import schema
from gatehold.stack_state import StackState, write_stack_state
from tests.postgres import new_database
from tests.stackctl import free_port, new_stack


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of this session's own at 127.0.0.1:5432, dropped afterwards."""
    with new_database("test_gatehold_db") as url:
        yield url


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """A fresh schema in the session's database for one test (its URL sets the search path)."""
    schema_name = f"db_{secrets.token_hex(6)}"
    engine = create_engine(pg_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema_name}"'))
    try:
        yield f"{pg_database}?options=-csearch_path%3D{schema_name}"
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema_name}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[list[str], str]:
    """(the db commands' arguments, the SQLAlchemy URL they reach)."""
    data_dir = tmp_path / "data"
    if request.param == "sqlite":
        return ["--data-dir", str(data_dir)], f"sqlite:///{data_dir.resolve() / 'idp.sqlite3'}"
    url: str = request.getfixturevalue("pg_url")
    return ["--data-dir", str(data_dir), "--database-url", url], url


def gatehold(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "gatehold", *args], capture_output=True, text=True, timeout=120, env=env
    )


def sql(url: str, *statements: str) -> list[str]:
    """Run ``statements``; the last one's first column."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            rows: list[str] = []
            for statement in statements:
                result = conn.execute(text(statement))
                rows = [str(r[0]) for r in result] if result.returns_rows else []
            return rows
    finally:
        engine.dispose()


def test_a_new_database_checked_upgraded_and_checked_again(
    target: tuple[list[str], str], tmp_path: Path
) -> None:
    args, url = target
    check = gatehold("db", "check", *args)
    assert check.returncode == 1, check
    assert "no tables yet" in check.stderr
    assert "gatehold db upgrade" in check.stderr
    current = gatehold("db", "current", *args)
    assert current.returncode == 0, current
    assert "revision  none" in current.stdout
    assert f"head      {schema.HEAD}" in current.stdout
    assert "status    empty" in current.stdout
    assert not (tmp_path / "data" / "idp.sqlite3").exists()  # looking creates nothing

    upgraded = gatehold("db", "upgrade", *args)
    assert upgraded.returncode == 0, upgraded
    assert f"upgraded from none (empty) to {schema.HEAD} (head)" in upgraded.stdout
    assert sql(url, "SELECT version_num FROM alembic_version") == [schema.HEAD]

    check = gatehold("db", "check", *args)
    assert check.returncode == 0, check
    assert f"is at {schema.HEAD} (head) and matches this Gatehold's models" in check.stdout
    again = gatehold("db", "upgrade", *args)
    assert again.returncode == 0, again
    assert f"already at {schema.HEAD} (head)" in again.stdout
    current = gatehold("db", "current", *args)
    assert f"revision  {schema.HEAD} (head)" in current.stdout
    assert "status    current" in current.stdout


def test_check_refuses_tables_changed_by_hand(target: tuple[list[str], str]) -> None:
    args, url = target
    assert gatehold("db", "upgrade", *args).returncode == 0
    sql(url, "ALTER TABLE users ADD COLUMN nickname VARCHAR(40)")
    check = gatehold("db", "check", *args)
    assert check.returncode == 3, check
    assert "tables differ from that revision's" in check.stderr
    assert "column users.nickname is not in the models" in check.stderr


def test_a_newer_revision_is_refused_by_every_command(target: tuple[list[str], str]) -> None:
    args, url = target
    assert gatehold("db", "upgrade", *args).returncode == 0
    sql(url, "UPDATE alembic_version SET version_num = '9999'")
    for command in ("check", "upgrade"):
        refused = gatehold("db", command, *args)
        assert refused.returncode == 3, refused
        assert "schema revision 9999, newer than this Gatehold knows" in refused.stderr
        assert "Traceback" not in refused.stderr
    current = gatehold("db", "current", *args)
    assert "revision  9999" in current.stdout
    assert "status    newer" in current.stdout
    users = gatehold("users", "list", *args)  # the store's other commands refuse it too
    assert users.returncode == 1, users
    assert "revision 9999" in users.stderr
    assert sql(url, "SELECT version_num FROM alembic_version") == ["9999"]


def test_gatehold_up_refuses_a_newer_schema_and_leaves_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert gatehold("db", "upgrade", "--data-dir", str(data_dir)).returncode == 0
    url = f"sqlite:///{data_dir.resolve() / 'idp.sqlite3'}"
    sql(url, "UPDATE alembic_version SET version_num = '9999'")
    stack = new_stack(data_dir)
    stack.launch()
    assert stack.proc is not None
    assert stack.proc.wait(120) == 1
    output = stack.output()
    assert "Cannot start:" in output
    assert "schema revision 9999, newer than this Gatehold knows" in output
    assert "Traceback" not in output
    assert sql(url, "SELECT version_num FROM alembic_version") == ["9999"]
    assert sql(url, "SELECT count(*) FROM signing_keys") == ["0"]  # no process touched it


def test_gatehold_up_names_a_database_that_does_not_answer(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    stack = new_stack(tmp_path / "data", extra_args=["--database-url", url])
    stack.launch()
    assert stack.proc is not None
    assert stack.proc.wait(120) == 1
    output = stack.output()
    assert "Cannot start: the identity provider's database" in output
    assert "is unavailable" in output
    assert "Traceback" not in output
    for command in ("check", "current", "upgrade"):
        down = gatehold("db", command, "--data-dir", str(tmp_path / "other"), "--database-url", url)
        assert down.returncode == 4, down
        assert "is unavailable" in down.stderr


@pytest.mark.postgres
def test_the_commands_follow_the_stack_in_the_data_dir(pg_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    write_stack_state(
        data_dir,
        StackState(
            config_path=None, import_options={}, idp_url="http://localhost:1", database_url=pg_url, pid=0
        ),
    )
    upgraded = gatehold("db", "upgrade", "--data-dir", str(data_dir))
    assert upgraded.returncode == 0, upgraded
    assert "following the stack started with this data directory" in upgraded.stderr
    assert "postgresql+psycopg://postgres@127.0.0.1:5432/" in upgraded.stdout
    assert sql(pg_url, "SELECT version_num FROM alembic_version") == [schema.HEAD]
    assert not (data_dir / "idp.sqlite3").exists()
