"""PostgreSQL for the tests: the machine's server at 127.0.0.1:5432 (trust auth, database ``test``),
and databases of a test's own, created and dropped, so that concurrent runs never share tables."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import pytest

ADMIN_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"


def postgres_problem() -> str | None:
    """Why the PostgreSQL tests cannot run, or None."""
    try:
        import psycopg

        with psycopg.connect(ADMIN_DSN, connect_timeout=2):
            return None
    except Exception as exc:  # any failure means: skip, saying why
        return f"PostgreSQL at 127.0.0.1:5432 (database 'test', user postgres, trust) is unreachable: {exc}"


@contextlib.contextmanager
def new_database(prefix: str = "gh") -> Iterator[str]:
    """A SQLAlchemy URL of a fresh database, dropped (connections closed) afterwards; skips the
    test, saying why, when PostgreSQL is unreachable."""
    problem = postgres_problem()
    if problem:
        pytest.skip(problem)
    import psycopg

    name = f"{prefix}_{secrets.token_hex(8)}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
