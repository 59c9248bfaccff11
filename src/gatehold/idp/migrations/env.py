"""Alembic's environment for the identity provider's store, run on the connection it is given.

:func:`gatehold.idp.schema.upgrade` opens the connection (under the store's start-up lock) and
passes it as ``config.attributes["connection"]``; nothing here reads a URL or an ``alembic.ini``.
``render_as_batch``: SQLite cannot alter most of a table in place, so a later revision's
``op.batch_alter_table`` copies and renames the table there, and alters it in place on PostgreSQL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from gatehold.idp.store import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "the identity provider's migrations run through `gatehold db upgrade` (or on start), "
        "not through the alembic command"
    )
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
