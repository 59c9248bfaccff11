"""The tenant: applying ``tenant:`` from gatehold.yaml to the store, and the in-memory snapshot.

:func:`apply_tenant` is idempotent, like infrastructure as code: APIs, applications, client grants,
connections and roles are made exactly what the file says (extra ones are deleted — they can only
come from an older version of the file). Users are upserted by (connection, email): a changed
password is re-hashed, the file's roles are ensured, and users or role assignments added with
``gatehold users add`` / ``gatehold roles assign`` are kept, so a restart loses nothing.

Secrets at rest:

* **Client secrets**: salted SHA-256, compared with :func:`hmac.compare_digest`. They are machine
  secrets with ≥ 128 bits of entropy, so a slow password hash buys nothing against guessing, while
  the check sits on the token endpoint's hot path (argon2id would cap client credentials at
  ~20 tokens/s per core).
* **User passwords**: argon2id with argon2-cffi's defaults (m=19 MiB, t=2, p=1: OWASP's minimum).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select

from gatehold import clock as shared_clock
from gatehold.config.models import PermissionConfig, TenantConfig
from gatehold.idp.scopes import ApiPolicy
from gatehold.idp.store import (
    ApiRow,
    ClientGrantRow,
    ClientRow,
    ConnectionRow,
    RoleRow,
    Store,
    UserRoleRow,
    UserRow,
)

# argon2id with OWASP's password-storage parameters (m=19 MiB, t=2, p=1): ~75 ms per hash here,
# where argon2-cffi's defaults (64 MiB, t=3, p=4) cost ~450 ms per login on this 2-core machine.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# A valid argon2id hash of a random value: verified against when the user does not exist, so a
# missing account costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_client_secret(secret: str) -> str:
    salt = secrets.token_hex(16)
    return f"sha256${salt}${hashlib.sha256((salt + secret).encode()).hexdigest()}"


@dataclass(frozen=True)
class ClientSecretHash:
    """A stored ``sha256$<salt>$<hex digest>`` client-secret hash, parsed once (tenant load)."""

    salt: bytes
    digest: bytes | None  # None: not a hash this version writes, which matches no secret

    @classmethod
    def parse(cls, stored: str) -> ClientSecretHash:
        scheme, _, rest = stored.partition("$")
        salt, sep, hexdigest = rest.partition("$")
        try:
            digest = bytes.fromhex(hexdigest) if scheme == "sha256" and sep else None
        except ValueError:
            digest = None
        return cls(salt.encode(), digest)

    def verify(self, presented: str) -> bool:
        """SHA-256 of salt + secret, compared in constant time (:func:`hmac.compare_digest`)."""
        actual = hashlib.sha256(self.salt + presented.encode()).digest()
        return self.digest is not None and hmac.compare_digest(actual, self.digest)


def verify_client_secret(stored: str, presented: str) -> bool:
    return ClientSecretHash.parse(stored).verify(presented)


def hash_password(password: str) -> str:
    return str(_hasher.hash(password))


def verify_password(stored: str | None, presented: str) -> bool:
    try:
        return bool(_hasher.verify(stored or _DUMMY_HASH, presented)) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_user_id(connection_strategy: str, connection: str) -> str:
    prefix = "auth0" if connection_strategy == "auth0" else connection
    return f"{prefix}|{secrets.token_hex(12)}"


def _permission_values(items: list[PermissionConfig | str]) -> list[str]:
    return [p if isinstance(p, str) else p.value for p in items]


def apply_tenant(store: Store, tenant: TenantConfig, *, now: int | None = None) -> None:
    """Make the store's tenant model match ``tenant`` (see module docstring)."""
    now = int(shared_clock.wall()) if now is None else now
    with store.tx() as s:
        # APIs
        keep = {a.identifier for a in tenant.apis}
        s.execute(delete(ApiRow).where(ApiRow.identifier.not_in(keep)))
        for api in tenant.apis:
            s.merge(
                ApiRow(
                    identifier=api.identifier,
                    name=api.name or api.identifier,
                    signing_alg=api.signing_alg,
                    signing_secret=api.signing_secret,
                    token_lifetime=api.token_lifetime,
                    token_lifetime_for_web=api.token_lifetime_for_web,
                    permissions=_permission_values(api.permissions),
                    enforce_policies=api.enforce_policies,
                    token_dialect=api.token_dialect,
                    allow_offline_access=api.allow_offline_access,
                )
            )
        # applications
        s.execute(delete(ClientRow).where(ClientRow.client_id.not_in(list(tenant.applications))))
        for client_id, app in tenant.applications.items():
            existing = s.get(ClientRow, client_id)
            secret_hash = None
            if app.client_secret is not None:
                if (
                    existing
                    and existing.secret_hash
                    and verify_client_secret(existing.secret_hash, app.client_secret)
                ):
                    secret_hash = existing.secret_hash
                else:
                    secret_hash = hash_client_secret(app.client_secret)
            grant_types = app.grant_types
            if grant_types is None:
                grant_types = (
                    ["client_credentials"]
                    if app.app_type == "non_interactive"
                    else ["authorization_code", "refresh_token"]
                )
            s.merge(
                ClientRow(
                    client_id=client_id,
                    name=app.name or client_id,
                    app_type=app.app_type,
                    secret_hash=secret_hash,
                    callbacks=list(app.callbacks),
                    allowed_logout_urls=list(app.allowed_logout_urls),
                    web_origins=list(app.web_origins),
                    allowed_origins=list(app.allowed_origins),
                    grant_types=list(grant_types),
                    refresh_token=app.refresh_token.model_dump(),
                    id_token_lifetime=app.id_token_lifetime,
                    connections=app.connections,
                )
            )
        # client grants: replace wholesale (small table, no external references)
        s.execute(delete(ClientGrantRow))
        s.flush()
        for grant in tenant.client_grants:
            s.add(ClientGrantRow(client_id=grant.client_id, audience=grant.audience, scope=list(grant.scope)))
        # connections
        s.execute(
            delete(ConnectionRow).where(ConnectionRow.name.not_in([c.name for c in tenant.connections]))
        )
        strategies: dict[str, str] = {}
        for conn in tenant.connections:
            strategies[conn.name] = conn.strategy
            s.merge(
                ConnectionRow(
                    name=conn.name, strategy=conn.strategy, display_name=conn.display_name or conn.name
                )
            )
        # roles
        s.execute(delete(RoleRow).where(RoleRow.name.not_in(list(tenant.roles))))
        s.execute(delete(UserRoleRow).where(UserRoleRow.role.not_in(list(tenant.roles))))
        for role_name, role in tenant.roles.items():
            s.merge(
                RoleRow(
                    name=role_name,
                    description=role.description,
                    permissions={aud: list(p) for aud, p in role.permissions.items()},
                )
            )
        # users: upsert, never delete
        for user in tenant.users:
            email = user.email.lower()
            row = s.scalars(
                select(UserRow).where(UserRow.connection == user.connection, UserRow.email == email)
            ).first()
            if row is None:
                row = UserRow(
                    user_id=new_user_id(strategies.get(user.connection, "auth0"), user.connection),
                    connection=user.connection,
                    email=email,
                    password_hash=hash_password(user.password),
                    created_at=now,
                )
                s.add(row)
            elif not verify_password(row.password_hash, user.password):
                row.password_hash = hash_password(user.password)
            row.name = user.name or email
            row.email_verified = user.email_verified
            row.blocked = user.blocked
            row.app_metadata = dict(user.app_metadata)
            row.user_metadata = dict(user.user_metadata)
            row.updated_at = now
            s.flush()
            for role_name in user.roles:
                if s.get(UserRoleRow, (row.user_id, role_name)) is None:
                    s.add(UserRoleRow(user_id=row.user_id, role=role_name))


@dataclass(frozen=True)
class Tenant:
    """What the hot paths read, loaded from the store once at start (config-owned, read-only)."""

    apis: dict[str, ApiRow]
    clients: dict[str, ClientRow]
    client_secrets: dict[str, ClientSecretHash]  # confidential clients only
    grants: dict[tuple[str, str], ClientGrantRow]
    connections: dict[str, ConnectionRow]
    cors_origins: frozenset[str]
    settings: TenantConfig

    @classmethod
    def load(cls, store: Store, settings: TenantConfig) -> Tenant:
        clients = {c.client_id: c for c in store.clients()}
        origins: set[str] = set()
        for c in clients.values():
            origins.update(o.rstrip("/") for o in (*c.web_origins, *c.allowed_origins))
        return cls(
            apis={a.identifier: a for a in store.apis()},
            clients=clients,
            client_secrets={
                c.client_id: ClientSecretHash.parse(c.secret_hash)
                for c in clients.values()
                if c.secret_hash is not None
            },
            grants={(g.client_id, g.audience): g for g in store.client_grants()},
            connections={c.name: c for c in store.connections()},
            cors_origins=frozenset(origins),
            settings=settings,
        )

    def api_policy(self, audience: str | None) -> ApiPolicy | None:
        api = self.apis.get(audience or "")
        if api is None:
            return None
        return ApiPolicy(
            identifier=api.identifier,
            permissions=frozenset(api.permissions),
            enforce_policies=api.enforce_policies,
            token_dialect=api.token_dialect,
            allow_offline_access=api.allow_offline_access,
        )

    def client_connections(self, client: ClientRow) -> list[ConnectionRow]:
        names = client.connections if client.connections is not None else list(self.connections)
        return [self.connections[n] for n in names if n in self.connections]


def user_profile(user: UserRow) -> dict[str, Any]:
    """The ``event.user`` of hooks (Auth0's user profile subset)."""
    return {
        "user_id": user.user_id,
        "email": user.email,
        "email_verified": user.email_verified,
        "name": user.name,
        "app_metadata": dict(user.app_metadata),
        "user_metadata": dict(user.user_metadata),
    }
