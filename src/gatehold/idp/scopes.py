"""Auth0's scope rules, pure: ``granted = requested ∩ permitted``.

User flows (authorization code, ``gatehold token --user``):

* OIDC scopes (``openid profile email``) pass through when requested; ``offline_access`` only when
  the application may refresh and the API (if one was asked for) allows offline access (Auth0
  "Allow Offline Access"); without an audience (userinfo only) it is allowed, as at Auth0.
* API scopes: with RBAC on (``enforce_policies``) the user's role permissions on the API bound
  them; with RBAC off the API's defined permissions do. Either way only what was requested.
* ``permissions`` claim (``token_dialect: access_token_authz``, RBAC on): *all* the user's
  permissions on the API, requested or not, as Auth0 does.

Machine-to-machine (client credentials): the client grant's scopes bound the request; when no
scope is requested, every granted scope is issued (Auth0's behaviour).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

OIDC_SCOPES = ("openid", "profile", "email")
OFFLINE_ACCESS = "offline_access"


def parse_scope(value: str | None) -> list[str]:
    """Split a ``scope`` parameter (RFC 6749 §3.3), keeping first occurrence order."""
    out: list[str] = []
    for item in (value or "").split():
        if item not in out:
            out.append(item)
    return out


def join_scope(scopes: Iterable[str]) -> str:
    return " ".join(scopes)


@dataclass(frozen=True)
class ApiPolicy:
    """The parts of an API (resource server) that the scope rule reads."""

    identifier: str
    permissions: frozenset[str]
    enforce_policies: bool
    token_dialect: str
    allow_offline_access: bool


@dataclass(frozen=True)
class UserGrant:
    scopes: list[str]
    permissions: list[str] | None  # the permissions claim, or None when the API does not add it


def user_scopes(
    requested: list[str],
    api: ApiPolicy | None,
    user_permissions: Collection[str],
    *,
    may_refresh: bool,
) -> UserGrant:
    """Scopes granted to a user's access token for ``api`` (None: only the userinfo audience)."""
    granted: list[str] = [s for s in requested if s in OIDC_SCOPES]
    if OFFLINE_ACCESS in requested and may_refresh and (api is None or api.allow_offline_access):
        granted.append(OFFLINE_ACCESS)
    if api is None:
        return UserGrant(granted, None)
    permitted = set(user_permissions) if api.enforce_policies else set(api.permissions)
    granted.extend(s for s in requested if s in permitted and s not in granted)
    permissions = None
    if api.enforce_policies and api.token_dialect == "access_token_authz":
        permissions = sorted(set(user_permissions))
    return UserGrant(granted, permissions)


def client_credentials_scopes(requested: list[str], granted_by_grant: list[str]) -> list[str]:
    """Scopes for a client-credentials token: requested ∩ client grant, or the whole grant."""
    if not requested:
        return list(granted_by_grant)
    allowed = set(granted_by_grant)
    return [s for s in requested if s in allowed]
