"""The identity provider's durable store: SQLAlchemy 2 models and a small repository.

SQLite in the data directory by default (WAL, ``synchronous=FULL``: a committed token family or
code redemption survives a crash), PostgreSQL with a ``postgresql+psycopg://`` URL. Everything
secret is stored as a digest: client secrets (salted SHA-256), user passwords (argon2id),
authorization codes, refresh tokens and session ids (SHA-256 of a 256-bit random value; the
digest is the lookup key, so a leaked database yields nothing that can be replayed).

Times are integer epoch seconds, passed in by the caller (``now``), so the rules stay testable.

The schema is Alembic's (:mod:`gatehold.idp.schema`): opening a :class:`Store` upgrades the database
to this Gatehold's revision under the start-up lock, and refuses one a newer Gatehold migrated.

A database that does not answer (PostgreSQL stopped or restarting, a connection cut, the pool
exhausted, SQLite locked past its busy timeout) raises :class:`StoreUnavailable`, an OAuth
``temporarily_unavailable`` (503, ``Retry-After``) that the endpoints answer like any OAuth error;
:attr:`Store.problem` says so until a transaction or :meth:`Store.ping` succeeds again. Pooled
PostgreSQL connections are checked before use (``pool_pre_ping``), so the store recovers by itself
when the database is back. A method returns only once its transaction is committed, so whatever a
response acknowledges (a token whose refresh token was stored) is durable.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from gatehold.idp.errors import TemporarilyUnavailable

log = logging.getLogger("gatehold.idp.store")

#: what a client is told to wait before trying again while the database does not answer (s)
RETRY_AFTER_S = 5
#: how long a new PostgreSQL connection may take (a host that does not answer at all)
CONNECT_TIMEOUT_S = 5


def digest(value: str) -> str:
    """SHA-256 hex of a high-entropy bearer value (code, refresh token, session id)."""
    return hashlib.sha256(value.encode()).hexdigest()


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


# ---------------------------------------------------------------------------------------------
# tenant model (applied from gatehold.yaml by gatehold.idp.tenant)
# ---------------------------------------------------------------------------------------------


class ApiRow(Base):
    """An Auth0 API (resource server); ``identifier`` is the audience."""

    __tablename__ = "resource_servers"
    identifier: Mapped[str] = mapped_column(String(512), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    signing_alg: Mapped[str] = mapped_column(String(8))
    signing_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    token_lifetime: Mapped[int] = mapped_column(Integer)
    token_lifetime_for_web: Mapped[int | None] = mapped_column(Integer, nullable=True)
    permissions: Mapped[list[str]] = mapped_column(JSON)
    enforce_policies: Mapped[bool] = mapped_column(Boolean)
    token_dialect: Mapped[str] = mapped_column(String(32))
    allow_offline_access: Mapped[bool] = mapped_column(Boolean)


class ClientRow(Base):
    """An Auth0 application."""

    __tablename__ = "clients"
    client_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    app_type: Mapped[str] = mapped_column(String(32))
    secret_hash: Mapped[str | None] = mapped_column(String(160), nullable=True)
    callbacks: Mapped[list[str]] = mapped_column(JSON)
    allowed_logout_urls: Mapped[list[str]] = mapped_column(JSON)
    web_origins: Mapped[list[str]] = mapped_column(JSON)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON)
    grant_types: Mapped[list[str]] = mapped_column(JSON)
    refresh_token: Mapped[dict[str, Any]] = mapped_column(JSON)
    id_token_lifetime: Mapped[int] = mapped_column(Integer)
    connections: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)

    @property
    def is_public(self) -> bool:
        return self.secret_hash is None


class ClientGrantRow(Base):
    __tablename__ = "client_grants"
    __table_args__ = (UniqueConstraint("client_id", "audience"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(128))
    audience: Mapped[str] = mapped_column(String(512))
    scope: Mapped[list[str]] = mapped_column(JSON)


class ConnectionRow(Base):
    __tablename__ = "connections"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    strategy: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(256))


class RoleRow(Base):
    __tablename__ = "roles"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    description: Mapped[str] = mapped_column(Text)
    permissions: Mapped[dict[str, Any]] = mapped_column(JSON)  # audience -> [permission]


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("connection", "email"),)
    user_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    connection: Mapped[str] = mapped_column(String(128))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(256))
    password_hash: Mapped[str] = mapped_column(String(256))
    email_verified: Mapped[bool] = mapped_column(Boolean)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    app_metadata: Mapped[dict[str, Any]] = mapped_column(JSON)
    user_metadata: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[int] = mapped_column(Integer)


class UserRoleRow(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    role: Mapped[str] = mapped_column(String(128), primary_key=True)


# ---------------------------------------------------------------------------------------------
# runtime state
# ---------------------------------------------------------------------------------------------


class AppliedTenantRow(Base):
    """An argon2id hash of the last applied ``tenant:`` section (slow on purpose: the section holds
    passwords, so its digest must be no easier to guess than their own hashes)."""

    __tablename__ = "applied_tenant"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    fingerprint_hash: Mapped[str] = mapped_column(String(256))


class KeyRow(Base):
    """An RSA signing key; ``state`` is ``next`` → ``current`` → ``previous`` (see keys.py)."""

    __tablename__ = "signing_keys"
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(Integer)


class CodeRow(Base):
    """An authorization code (RFC 6749 §4.1.2), keyed by its digest."""

    __tablename__ = "authorization_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(Text)
    user_id: Mapped[str] = mapped_column(String(160))
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    grant: Mapped[dict[str, Any]] = mapped_column(JSON)  # audience, scope, claims, nonce, auth_time
    code_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)
    expires_at: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    issued_family: Mapped[str | None] = mapped_column(String(64), nullable=True)
    issued_jti: Mapped[str | None] = mapped_column(String(64), nullable=True)
    issued_exp: Mapped[int | None] = mapped_column(Integer, nullable=True)


class RefreshTokenRow(Base):
    """One refresh token of a rotation family (RFC 9700 §4.14.2), keyed by its digest."""

    __tablename__ = "refresh_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(160), index=True)
    grant: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int | None] = mapped_column(Integer, nullable=True)  # absolute (family)
    idle_expires_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rotated_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    revoked_at: Mapped[int | None] = mapped_column(Integer, nullable=True)


class RevokedTokenRow(Base):
    """Access-token ids revoked before their ``exp`` (code replay); checked by /userinfo."""

    __tablename__ = "revoked_access_tokens"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(Integer)


class SessionRow(Base):
    """A login session at the identity provider (the ``gatehold_session`` cookie)."""

    __tablename__ = "sessions"
    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(160))
    auth_time: Mapped[int] = mapped_column(Integer)
    last_seen: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(Integer)


class TransactionRow(Base):
    """A pending /authorize request waiting for the login form."""

    __tablename__ = "login_transactions"
    tx_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    csrf: Mapped[str] = mapped_column(String(64))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    expires_at: Mapped[int] = mapped_column(Integer)


# ---------------------------------------------------------------------------------------------
# the repository
# ---------------------------------------------------------------------------------------------


_ADVISORY_KEY = 0x6761746568  # "gateh": the identity provider's start-up lock


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'idp.sqlite3').resolve()}"


class StoreUnavailable(TemporarilyUnavailable):
    """The database does not answer: 503 ``temporarily_unavailable`` with ``Retry-After`` (RFC 6749
    §4.1.2.1); the client may try again. Clients get a plain description; :attr:`problem` names the
    database (no password) and the driver's reason, for logs, ``/readyz`` and the command line."""

    def __init__(self, problem: str) -> None:
        super().__init__(
            "the identity provider cannot reach its database just now; try again shortly",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
        self.problem = problem

    def __str__(self) -> str:
        return self.problem


def _unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached (rather than a rule it enforced)."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def make_engine(url: str) -> Engine:
    """The store's engine for a SQLAlchemy URL (``postgresql://`` means psycopg 3)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        if url.startswith("postgresql") and "connect_timeout" not in url:
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


class Store:
    """Repository over one database; every method is one short transaction."""

    def __init__(self, url: str, *, upgrade: bool = True) -> None:
        """``upgrade``: bring the schema to this Gatehold's revision (under :meth:`startup_lock`);
        ``gatehold db`` opens the store without, to look before it changes anything."""
        self.engine: Engine = make_engine(url)
        self.url = self.engine.url.render_as_string(hide_password=False)
        #: why the database does not answer, since the last failure (None: it answers): a sentence
        #: naming the database, and the driver's own words
        self.problem: str | None = None
        self.reason: str | None = None
        if upgrade:
            from gatehold.idp import schema

            with self.reachable(), self.startup_lock():
                schema.upgrade(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def redacted_url(self) -> str:
        """The database's URL without its password: what messages name."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def reachable(self) -> Iterator[None]:
        """Turn "the database does not answer" into :class:`StoreUnavailable`, and keep
        :attr:`problem` (logged once when it starts and once when it ends)."""
        try:
            yield
        except Exception as exc:
            if not _unavailable(exc):
                raise
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            problem = f"the identity provider's database ({self.redacted_url}) is unavailable: {detail}"
            if self.problem is None:
                log.warning(
                    "%s; the identity provider answers 503 until it is back",
                    problem,
                    extra={"event": "database_down"},
                )
            self.problem, self.reason = problem, detail
            raise StoreUnavailable(problem) from exc
        if self.problem is not None:
            self.problem = self.reason = None
            log.info(
                "the identity provider's database (%s) answers again",
                self.redacted_url,
                extra={"event": "database_up"},
            )

    def ping(self) -> str | None:
        """Ask the database for ``SELECT 1``: None when it answers, else why not (:attr:`problem`)."""
        try:
            with self.reachable(), self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except StoreUnavailable:
            pass
        return self.problem

    @contextmanager
    def startup_lock(self) -> Iterator[None]:
        """Serialise schema creation and tenant application across processes and replicas:
        a PostgreSQL advisory lock, or a file lock next to the SQLite database."""
        if self.engine.dialect.name == "postgresql":
            with self.reachable(), self.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_KEY})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_KEY})
                    conn.commit()
            return
        database = self.engine.url.database
        if not database or database == ":memory:":
            yield
            return
        with open(database + ".lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @classmethod
    def open(cls, data_dir: Path, database_url: str | None = None) -> Store:
        if database_url is None:
            data_dir.mkdir(parents=True, exist_ok=True)
        return cls(database_url or default_url(data_dir))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def tx(self) -> Iterator[Session]:
        """One transaction, committed when the block ends; :class:`StoreUnavailable` when the
        database does not answer (nothing of the block is then committed)."""
        with self.reachable(), self._sessions() as s, s.begin():
            yield s

    # -- applied tenant ------------------------------------------------------------------------

    def applied_tenant_hash(self) -> str | None:
        with self.tx() as s:
            row = s.get(AppliedTenantRow, "tenant")
            return row.fingerprint_hash if row else None

    def set_applied_tenant_hash(self, value: str) -> None:
        with self.tx() as s:
            s.merge(AppliedTenantRow(name="tenant", fingerprint_hash=value))

    # -- keys ----------------------------------------------------------------------------------

    def signing_keys(self) -> list[KeyRow]:
        with self.tx() as s:
            return list(s.scalars(select(KeyRow).order_by(KeyRow.created_at, KeyRow.kid)))

    def replace_key_states(self, states: dict[str, str], new: Sequence[KeyRow] = ()) -> None:
        """Set each kid's state (``drop`` deletes it) and add new keys, atomically."""
        with self.tx() as s:
            for kid, state in states.items():
                if state == "drop":
                    s.execute(delete(KeyRow).where(KeyRow.kid == kid))
                else:
                    s.execute(update(KeyRow).where(KeyRow.kid == kid).values(state=state))
            for row in new:
                s.add(row)

    # -- tenant snapshot -----------------------------------------------------------------------

    def apis(self) -> list[ApiRow]:
        with self.tx() as s:
            return list(s.scalars(select(ApiRow)))

    def clients(self) -> list[ClientRow]:
        with self.tx() as s:
            return list(s.scalars(select(ClientRow)))

    def client_grants(self) -> list[ClientGrantRow]:
        with self.tx() as s:
            return list(s.scalars(select(ClientGrantRow)))

    def connections(self) -> list[ConnectionRow]:
        with self.tx() as s:
            return list(s.scalars(select(ConnectionRow)))

    def roles(self) -> list[RoleRow]:
        with self.tx() as s:
            return list(s.scalars(select(RoleRow).order_by(RoleRow.name)))

    # -- users ---------------------------------------------------------------------------------

    def find_user(self, connection: str, email: str) -> UserRow | None:
        with self.tx() as s:
            return s.scalars(
                select(UserRow).where(UserRow.connection == connection, UserRow.email == email.lower())
            ).first()

    def users_by_email(self, email: str) -> list[UserRow]:
        with self.tx() as s:
            return list(s.scalars(select(UserRow).where(UserRow.email == email.lower())))

    def user(self, user_id: str) -> UserRow | None:
        with self.tx() as s:
            return s.get(UserRow, user_id)

    def users(self) -> list[UserRow]:
        with self.tx() as s:
            return list(s.scalars(select(UserRow).order_by(UserRow.connection, UserRow.email)))

    def save_user(self, user: UserRow) -> None:
        with self.tx() as s:
            s.merge(user)

    def user_roles(self, user_id: str) -> list[str]:
        with self.tx() as s:
            return sorted(s.scalars(select(UserRoleRow.role).where(UserRoleRow.user_id == user_id)))

    def user_permissions(self, user_id: str, audience: str) -> set[str]:
        """Union of the permissions the user's roles hold on ``audience`` (Auth0 RBAC)."""
        with self.tx() as s:
            rows = s.scalars(
                select(RoleRow)
                .join(UserRoleRow, UserRoleRow.role == RoleRow.name)
                .where(UserRoleRow.user_id == user_id)
            )
            out: set[str] = set()
            for role in rows:
                out.update(role.permissions.get(audience, []))
            return out

    def assign_role(self, user_id: str, role: str) -> bool:
        with self.tx() as s:
            if s.get(UserRoleRow, (user_id, role)) is not None:
                return False
            s.add(UserRoleRow(user_id=user_id, role=role))
            return True

    def unassign_role(self, user_id: str, role: str) -> bool:
        with self.tx() as s:
            result = s.execute(
                delete(UserRoleRow).where(UserRoleRow.user_id == user_id, UserRoleRow.role == role)
            )
            return bool(getattr(result, "rowcount", 0))

    # -- sessions and login transactions -------------------------------------------------------

    def save_session(self, row: SessionRow) -> None:
        with self.tx() as s:
            s.merge(row)

    def session(self, session_hash: str) -> SessionRow | None:
        with self.tx() as s:
            return s.get(SessionRow, session_hash)

    def touch_session(self, session_hash: str, now: int) -> None:
        with self.tx() as s:
            s.execute(update(SessionRow).where(SessionRow.session_hash == session_hash).values(last_seen=now))

    def delete_session(self, session_hash: str) -> None:
        with self.tx() as s:
            s.execute(delete(SessionRow).where(SessionRow.session_hash == session_hash))

    def save_transaction(self, row: TransactionRow) -> None:
        with self.tx() as s:
            s.add(row)

    def transaction(self, tx_hash: str) -> TransactionRow | None:
        with self.tx() as s:
            return s.get(TransactionRow, tx_hash)

    def delete_transaction(self, tx_hash: str) -> None:
        with self.tx() as s:
            s.execute(delete(TransactionRow).where(TransactionRow.tx_hash == tx_hash))

    # -- authorization codes (RFC 6749 §4.1.2, §10.5) ------------------------------------------

    def save_code(self, row: CodeRow) -> None:
        with self.tx() as s:
            s.add(row)

    def redeem_code(self, code_hash: str, now: int) -> tuple[CodeRow | None, bool]:
        """Mark the code used; returns (row, first_use). Atomic: one redemption wins a race."""
        with self.tx() as s:
            result = s.execute(
                update(CodeRow)
                .where(CodeRow.code_hash == code_hash, CodeRow.used_at.is_(None))
                .values(used_at=now)
            )
            first = bool(getattr(result, "rowcount", 0))
            return s.get(CodeRow, code_hash), first

    def record_code_issuance(self, code_hash: str, family: str | None, jti: str, exp: int) -> None:
        with self.tx() as s:
            s.execute(
                update(CodeRow)
                .where(CodeRow.code_hash == code_hash)
                .values(issued_family=family, issued_jti=jti, issued_exp=exp)
            )

    # -- refresh tokens ------------------------------------------------------------------------

    def save_refresh(self, row: RefreshTokenRow) -> None:
        with self.tx() as s:
            s.add(row)

    def refresh(self, token_hash: str) -> RefreshTokenRow | None:
        with self.tx() as s:
            return s.get(RefreshTokenRow, token_hash)

    def rotate_refresh(self, old_hash: str, now: int, new: RefreshTokenRow | None) -> bool:
        """Mark ``old_hash`` rotated and store its successor; False if someone rotated it first."""
        with self.tx() as s:
            result = s.execute(
                update(RefreshTokenRow)
                .where(
                    RefreshTokenRow.token_hash == old_hash,
                    RefreshTokenRow.rotated_at.is_(None),
                    RefreshTokenRow.revoked_at.is_(None),
                )
                .values(rotated_at=now)
            )
            if not getattr(result, "rowcount", 0):
                return False
            if new is not None:
                s.add(new)
            return True

    def touch_refresh(self, token_hash: str, idle_expires_at: int | None) -> None:
        with self.tx() as s:
            s.execute(
                update(RefreshTokenRow)
                .where(RefreshTokenRow.token_hash == token_hash)
                .values(idle_expires_at=idle_expires_at)
            )

    def revoke_family(self, family_id: str, now: int) -> int:
        with self.tx() as s:
            result = s.execute(
                update(RefreshTokenRow)
                .where(RefreshTokenRow.family_id == family_id, RefreshTokenRow.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            return int(getattr(result, "rowcount", 0))

    def family_revoked(self, family_id: str) -> bool:
        with self.tx() as s:
            row = s.scalars(
                select(RefreshTokenRow.token_hash).where(
                    RefreshTokenRow.family_id == family_id, RefreshTokenRow.revoked_at.is_not(None)
                )
            ).first()
            return row is not None

    # -- revoked access tokens -----------------------------------------------------------------

    def revoke_jti(self, jti: str, expires_at: int) -> None:
        with self.tx() as s:
            if s.get(RevokedTokenRow, jti) is None:
                s.add(RevokedTokenRow(jti=jti, expires_at=expires_at))

    def jti_revoked(self, jti: str) -> bool:
        with self.tx() as s:
            return s.get(RevokedTokenRow, jti) is not None

    # -- housekeeping --------------------------------------------------------------------------

    def purge_expired(self, now: int) -> None:
        """Drop rows that can never be used again (kept a day past expiry for replay detection)."""
        grace = 86400
        with self.tx() as s:
            s.execute(delete(CodeRow).where(CodeRow.expires_at < now - grace))
            s.execute(delete(TransactionRow).where(TransactionRow.expires_at < now))
            s.execute(delete(SessionRow).where(SessionRow.expires_at < now))
            s.execute(delete(RevokedTokenRow).where(RevokedTokenRow.expires_at < now))
            s.execute(
                delete(RefreshTokenRow).where(
                    RefreshTokenRow.expires_at.is_not(None), RefreshTokenRow.expires_at < now - grace
                )
            )
