"""Schema migrations (gatehold.idp.schema, Alembic) on SQLite and PostgreSQL: the migrated schema is the
models' schema, a database made by create_all before migrations is adopted with its rows, a newer
revision is refused untouched, and processes starting at once on one empty database all come up on it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from gatehold.idp import schema
from gatehold.idp.keys import new_key_row
from gatehold.idp.store import Base, ClientRow, Store, UserRow, default_url


def _url(database_url: str | None, tmp_path: Path) -> str:
    """The fixture's PostgreSQL URL (a fresh schema), or SQLite in a fresh directory."""
    return database_url or default_url(tmp_path)


def _revisions(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        engine.dispose()


def _seed(store: Store) -> None:
    """A user, an application and a signing key, as a running identity provider leaves them."""
    store.save_user(
        UserRow(
            user_id="auth0|kept",
            connection="Username-Password-Authentication",
            email="kept@example.com",
            name="Kept",
            password_hash="argon2-hash",
            email_verified=True,
            blocked=False,
            app_metadata={},
            user_metadata={"plan": "gold"},
            created_at=1,
            updated_at=1,
        )
    )
    with store.tx() as s:
        s.add(
            ClientRow(
                client_id="kept-client",
                name="Kept",
                app_type="spa",
                secret_hash=None,
                callbacks=["http://localhost/cb"],
                allowed_logout_urls=[],
                web_origins=[],
                allowed_origins=[],
                grant_types=["authorization_code"],
                refresh_token={},
                id_token_lifetime=36000,
                connections=None,
            )
        )
    store.replace_key_states({}, [new_key_row("current", 1)])


def _assert_seed_kept(store: Store) -> None:
    user = store.user("auth0|kept")
    assert user is not None
    assert user.user_metadata == {"plan": "gold"}
    assert [c.client_id for c in store.clients()] == ["kept-client"]
    assert [k.state for k in store.signing_keys()] == ["current"]


def test_head_is_the_newest_revision() -> None:
    """HEAD (the fast path's answer to "up to date?") must follow every new revision file."""
    assert schema.script_heads() == (schema.HEAD,)
    assert schema.BASELINE in schema.known_revisions()


def test_migrated_schema_is_the_models_schema(database_url: str | None, tmp_path: Path) -> None:
    url = _url(database_url, tmp_path)
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            state = schema.read_state(conn)
            found = schema.differences(conn)
            tables = set(inspect(conn).get_table_names())
    finally:
        store.close()
    assert state.status == "current"
    assert state.revisions == (schema.HEAD,)
    assert state.tables == set(Base.metadata.tables)
    assert tables == {*Base.metadata.tables, "alembic_version"}
    assert found == [], [schema.describe_difference(d) for d in found]


def test_differences_name_what_changed_by_hand(database_url: str | None, tmp_path: Path) -> None:
    url = _url(database_url, tmp_path)
    store = Store(url)
    try:
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE users ADD COLUMN nickname VARCHAR(40)"))
            conn.execute(text("DROP INDEX ix_refresh_tokens_user_id"))
        with store.engine.connect() as conn:
            described = sorted(schema.describe_difference(d) for d in schema.differences(conn))
    finally:
        store.close()
    assert described == [
        "column users.nickname is not in the models",
        "missing index ix_refresh_tokens_user_id on refresh_tokens",
    ]


def test_a_create_all_database_is_adopted_not_recreated(database_url: str | None, tmp_path: Path) -> None:
    url = _url(database_url, tmp_path)
    before = Store(url, upgrade=False)  # as Gatehold made it before migrations: create_all, no version
    Base.metadata.create_all(before.engine)
    _seed(before)
    with before.engine.begin() as conn:  # one made before applied_tenant existed
        conn.execute(text("DROP TABLE applied_tenant"))
    with before.engine.connect() as conn:
        assert schema.read_state(conn).status == "unversioned"
    before.close()

    store = Store(url)
    try:
        _assert_seed_kept(store)
        with store.engine.connect() as conn:
            state = schema.read_state(conn)
            assert schema.differences(conn) == []
        assert state.status == "current"
        assert "applied_tenant" in state.tables  # what it lacked was created
        store.set_applied_tenant_hash("x")
    finally:
        store.close()
    assert _revisions(url) == [schema.HEAD]


def test_a_newer_revision_is_refused_and_left_untouched(database_url: str | None, tmp_path: Path) -> None:
    url = _url(database_url, tmp_path)
    store = Store(url)
    _seed(store)
    with store.engine.begin() as conn:  # as a newer Gatehold would leave it
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        conn.execute(text("CREATE TABLE from_the_future (id INTEGER PRIMARY KEY)"))
    store.close()

    with pytest.raises(schema.SchemaTooNew) as refused:
        Store(url)
    message = str(refused.value)
    assert "revision 9999" in message
    assert f"its newest is {schema.HEAD}" in message
    assert "left untouched" in message
    assert "never downgrades" in message

    assert _revisions(url) == ["9999"]
    look = Store(url, upgrade=False)
    try:
        _assert_seed_kept(look)
        with look.engine.connect() as conn:
            assert "from_the_future" in inspect(conn).get_table_names()
            assert schema.read_state(conn).status == "newer"
    finally:
        look.close()


_OPEN_WHEN_TOLD = """
import sys, time
from pathlib import Path
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.005)
from gatehold.idp.store import Store
Store(sys.argv[1]).close()
"""


def test_processes_starting_at_once_migrate_once(database_url: str | None, tmp_path: Path) -> None:
    """Replicas starting together: one migrates under the start-up lock, the others wait and find the
    schema current (without the lock, two would create the same tables and one would fail)."""
    url = _url(database_url, tmp_path)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_WHEN_TOLD, url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(4)
    ]
    time.sleep(1.5)  # let every interpreter import what it needs and wait at the line
    go.touch()
    outputs = [(p.wait(60), p.stdout.read().decode() if p.stdout else "") for p in procs]
    assert [code for code, _ in outputs] == [0, 0, 0, 0], outputs
    assert _revisions(url) == [schema.HEAD]
    store = Store(url, upgrade=False)
    try:
        with store.engine.connect() as conn:
            assert schema.differences(conn) == []
    finally:
        store.close()
