"""The identity provider's schema version: Alembic migrations, run on start and by ``gatehold db``.

The revisions live in the package (``gatehold/idp/migrations/versions``); the database records the
one it is at in Alembic's ``alembic_version`` table. :func:`upgrade` brings a database to
:data:`HEAD` (the caller holds the store's start-up lock, so that of several processes or replicas
starting at once one migrates and the others wait, then find nothing to do):

* an empty database gets every revision;
* a database that ``Base.metadata.create_all`` made before migrations existed (our tables, no
  ``alembic_version``) is adopted: revision ``0001`` leaves its tables and rows alone, creates the
  ones it lacks, and records ``0001``; later revisions then run as on any database;
* a database at a revision this Gatehold does not know (a newer Gatehold migrated it) is refused
  with :class:`SchemaTooNew` before anything is read or written: never downgraded, never touched.

The common case, a database already at :data:`HEAD`, costs one small query and does not import
Alembic (a test keeps :data:`HEAD` equal to the newest revision in ``versions/``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from gatehold.idp.store import Base

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger("gatehold.idp.schema")

#: the newest revision in ``migrations/versions`` (what :func:`upgrade` brings a database to)
HEAD = "0001"
#: the revision that adopts a database made by ``create_all`` before migrations
BASELINE = "0001"
MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"


class SchemaTooNew(RuntimeError):
    """The database is at a revision this Gatehold does not know: a newer Gatehold migrated it."""

    def __init__(self, database: str, revisions: tuple[str, ...]) -> None:
        self.database = database
        self.revisions = revisions
        unknown = ", ".join(r for r in revisions if r not in known_revisions())
        super().__init__(
            f"the identity provider's database ({database}) is at schema revision {unknown}, newer "
            f"than this Gatehold knows (its newest is {HEAD}): a newer Gatehold migrated it. Run that "
            "Gatehold (or a newer one) against it, or point --database-url at another database; "
            "this one was left untouched (Gatehold never downgrades a schema)"
        )


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands: the revisions it records (``None``: no ``alembic_version`` table)
    and which of the store's tables it has."""

    revisions: tuple[str, ...] | None
    tables: frozenset[str]

    @property
    def status(self) -> str:
        """``current``, ``behind`` (``gatehold db upgrade`` brings it up), ``unversioned`` (made
        before migrations: adopted on upgrade), ``empty``, or ``newer`` (refused)."""
        if self.revisions is None or not self.revisions:
            return "unversioned" if self.tables else "empty"
        if any(r not in known_revisions() for r in self.revisions):
            return "newer"
        return "current" if self.revisions == (HEAD,) else "behind"

    def describe(self) -> str:
        """The recorded revision(s), as ``gatehold db current`` prints them."""
        if not self.revisions:
            return "none"
        return ", ".join(f"{r} (head)" if r == HEAD else r for r in self.revisions)


def redacted(engine: Engine) -> str:
    """The engine's URL without its password: what messages name."""
    return engine.url.render_as_string(hide_password=True)


def read_state(conn: Connection) -> SchemaState:
    """What :class:`SchemaState` the connection's database (its default schema) is in."""
    names = set(inspect(conn).get_table_names())
    revisions = None
    if VERSION_TABLE in names:
        revisions = tuple(sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars()))
    return SchemaState(revisions, frozenset(names & set(Base.metadata.tables)))


def upgrade(engine: Engine) -> tuple[SchemaState, SchemaState]:
    """Bring the database to :data:`HEAD`; (before, after). Call it under the store's start-up lock.
    Raises :class:`SchemaTooNew` (nothing written) for a revision this Gatehold does not know."""
    with engine.begin() as conn:
        before = read_state(conn)
        if before.status == "current":
            return before, before
        if before.status == "newer":
            assert before.revisions is not None
            raise SchemaTooNew(redacted(engine), before.revisions)
        if before.status == "unversioned":
            missing = sorted(set(Base.metadata.tables) - before.tables)
            log.warning(
                "the identity provider's database (%s) was created before schema migrations: adopting it "
                "at revision %s, its tables and rows kept%s",
                redacted(engine),
                BASELINE,
                f"; creating the tables it lacks: {', '.join(missing)}" if missing else "",
                extra={"event": "schema_adopted"},
            )
        _run_alembic(conn, "upgrade", HEAD)
        after = read_state(conn)
    if before.status != "empty":
        log.info(
            "the identity provider's database (%s): schema upgraded from %s to %s",
            redacted(engine),
            before.describe(),
            after.describe(),
            extra={"event": "schema_upgraded"},
        )
    return before, after


def differences(conn: Connection) -> list[Any]:
    """How the database's tables differ from the store's models (Alembic's ``compare_metadata``:
    ``("add_table", …)``, ``("modify_type", …)`` …); empty when they match. Tables that are not the
    store's (another application's, in a shared schema) are left out."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    def ours(name: str | None, type_: str, parent: Any) -> bool:
        return type_ != "table" or name in Base.metadata.tables

    context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": ours})
    return list(compare_metadata(context, Base.metadata))


def describe_difference(diff: Any) -> str:
    """One of :func:`differences`'s entries in words (``missing column users.email`` …)."""
    if isinstance(diff, list):  # the modify_* operations on one column come as a list
        return "; ".join(describe_difference(d) for d in diff)
    op = diff[0]
    if op in ("add_table", "remove_table"):
        name = diff[1].name
        return f"missing table {name}" if op == "add_table" else f"table {name} is not in the models"
    if op in ("add_column", "remove_column"):
        where = f"{diff[2]}.{diff[3].name}"
        return f"missing column {where}" if op == "add_column" else f"column {where} is not in the models"
    if op in ("add_index", "remove_index", "add_constraint", "remove_constraint"):
        item = diff[1]
        kind = "index" if "index" in op else "constraint"
        name = item.name or ", ".join(c.name for c in item.columns)
        where = f"{kind} {name} on {item.table.name}"
        return f"missing {where}" if op.startswith("add") else f"{where} is not in the models"
    if op.startswith("modify_"):
        _, _schema, table, column, _kw, existing, wanted = diff
        what = op.removeprefix("modify_")
        return f"{table}.{column}: {what} {existing!r} in the database, {wanted!r} in the models"
    return repr(diff)


@cache
def known_revisions() -> frozenset[str]:
    """Every revision in ``migrations/versions``."""
    return frozenset(script.revision for script in _script_directory().walk_revisions())


def script_heads() -> tuple[str, ...]:
    """The newest revision(s) in ``migrations/versions`` (one, unless someone branched)."""
    return tuple(_script_directory().get_heads())


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _script_directory() -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def _run_alembic(conn: Connection, command_name: str, revision: str) -> None:
    """``alembic <command_name> <revision>`` on ``conn`` (migrations/env.py reads it from the
    config's attributes). Alembic's own INFO lines are kept out of Gatehold's log."""
    from alembic import command

    alembic_log = logging.getLogger("alembic")
    if alembic_log.level == logging.NOTSET:
        alembic_log.setLevel(logging.WARNING)
    config = _config()
    config.attributes["connection"] = conn
    getattr(command, command_name)(config, revision)
