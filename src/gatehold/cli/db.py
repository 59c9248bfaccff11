"""``gatehold db``: the identity provider's schema, by hand (:mod:`gatehold.idp.schema`).

::

    gatehold db upgrade    bring the database to this Gatehold's revision (gatehold up does it on start)
    gatehold db current    the revision the database is at, and what that means
    gatehold db check      exit 0 only if it is at this Gatehold's revision and matches its models

Each takes ``--database-url`` and ``--data-dir``; without ``--database-url`` the stack last started
with the data directory is followed (its ``stack.json``), else the SQLite file in it. ``current`` and
``check`` only read: a database that does not exist yet is not created.

Exit status of ``check`` (and of the others where it applies): :data:`OK` 0; :data:`BEHIND` 1, an
upgrade would bring it up (empty, made before migrations, an older revision); :data:`REFUSED` 3, this
Gatehold cannot use it (a newer Gatehold's revision, or tables that differ from their revision's);
:data:`UNAVAILABLE` 4, the database does not answer. (2 is click's usage error.)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from gatehold.cli.common import data_dir_option, err_console
from gatehold.idp import schema
from gatehold.idp.store import Store, StoreUnavailable, default_url
from gatehold.stack_state import STACK_STATE, read_stack_state

OK, BEHIND, REFUSED, UNAVAILABLE = 0, 1, 3, 4

STATUS = {
    "current": "at this Gatehold's newest revision",
    "behind": "older than this Gatehold: `gatehold db upgrade` (or `gatehold up`) upgrades it",
    "unversioned": "made before schema migrations: `gatehold db upgrade` (or `gatehold up`) adopts it, "
    "its tables and rows kept",
    "empty": "no tables yet: `gatehold db upgrade` (or `gatehold up`) creates them",
    "newer": "newer than this Gatehold (a newer Gatehold migrated it): refused, left untouched",
}


def _fail(message: str, code: int) -> NoReturn:
    err_console.print(f"error: {message}", markup=False, highlight=False)
    sys.exit(code)


def _database_url(data_dir: Path, database_url: str | None) -> str | None:
    """``--database-url``, else the stack's in ``data_dir`` (``stack.json``), else None (SQLite)."""
    if database_url:
        return database_url
    state = read_stack_state(data_dir)
    if state is not None and state.database_url:
        err_console.print(
            f"following the stack started with this data directory ({data_dir / STACK_STATE})",
            markup=False,
            highlight=False,
        )
        return state.database_url
    return None


def _open(data_dir: Path, database_url: str | None, *, create: bool) -> Store | None:
    """The store, not upgraded; None when it is SQLite that does not exist and ``create`` is off."""
    url = _database_url(data_dir, database_url)
    if url is None:
        if not (data_dir / "idp.sqlite3").exists() and not create:
            return None
        data_dir.mkdir(parents=True, exist_ok=True)
        url = default_url(data_dir)
    return Store(url, upgrade=False)


def _state(store: Store | None) -> schema.SchemaState:
    if store is None:
        return schema.SchemaState(None, frozenset())
    try:
        with store.reachable(), store.engine.connect() as conn:
            return schema.read_state(conn)
    except StoreUnavailable as exc:
        _fail(str(exc), UNAVAILABLE)


def _where(data_dir: Path, store: Store | None) -> str:
    return store.redacted_url if store is not None else f"{default_url(data_dir)} (does not exist yet)"


database_url_option = click.option(
    "--database-url",
    default=None,
    help="SQLAlchemy URL of the identity provider's store (default: the stack's in --data-dir, else "
    "SQLite in the data dir).",
)


@click.group()
def db() -> None:
    """The identity provider's database schema (Alembic migrations)."""


@db.command()
@data_dir_option
@database_url_option
def upgrade(data_dir: Path, database_url: str | None) -> None:
    """Upgrade the schema to this Gatehold's revision (gatehold up does it on start).

    Under the start-up lock, so it is safe while replicas start; a database at a newer revision than
    this Gatehold knows is refused and left untouched."""
    store = _open(data_dir, database_url, create=True)
    assert store is not None
    try:
        with store.reachable(), store.startup_lock():
            before, after = schema.upgrade(store.engine)
    except StoreUnavailable as exc:
        _fail(str(exc), UNAVAILABLE)
    except schema.SchemaTooNew as exc:
        _fail(str(exc), REFUSED)
    finally:
        store.close()
    if before.revisions == after.revisions:
        click.echo(f"{store.redacted_url}: already at {after.describe()}")
    else:
        click.echo(
            f"{store.redacted_url}: upgraded from {before.describe()} ({before.status}) to {after.describe()}"
        )


@db.command()
@data_dir_option
@database_url_option
def current(data_dir: Path, database_url: str | None) -> None:
    """Print the revision the database is at, and this Gatehold's newest."""
    store = _open(data_dir, database_url, create=False)
    try:
        state = _state(store)
    finally:
        if store is not None:
            store.close()
    click.echo(f"database  {_where(data_dir, store)}")
    click.echo(f"revision  {state.describe()}")
    click.echo(f"head      {schema.HEAD} (this Gatehold's newest)")
    click.echo(f"status    {state.status}: {STATUS[state.status]}")


@db.command()
@data_dir_option
@database_url_option
def check(data_dir: Path, database_url: str | None) -> None:
    """Exit 0 if the database is at this Gatehold's revision and its tables match the models;
    1 if an upgrade would bring it up; 3 if this Gatehold cannot use it; 4 if it does not answer."""
    store = _open(data_dir, database_url, create=False)
    try:
        state = _state(store)
        where = _where(data_dir, store)
        if state.status == "newer":
            assert state.revisions is not None
            _fail(str(schema.SchemaTooNew(where, state.revisions)), REFUSED)
        if state.status != "current":
            _fail(f"{where} is at {state.describe()}: {STATUS[state.status]}", BEHIND)
        assert store is not None
        try:
            with store.reachable(), store.engine.connect() as conn:
                found = schema.differences(conn)
        except StoreUnavailable as exc:
            _fail(str(exc), UNAVAILABLE)
    finally:
        if store is not None:
            store.close()
    if found:
        lines = "\n".join(f"  {schema.describe_difference(d)}" for d in found)
        _fail(
            f"{where} is at {state.describe()}, but its tables differ from that revision's "
            f"(changed by hand?):\n{lines}",
            REFUSED,
        )
    click.echo(f"ok: {where} is at {state.describe()} and matches this Gatehold's models")
