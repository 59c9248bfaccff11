"""Auth0's scope rule, pure: granted = requested ∩ permitted."""

from __future__ import annotations

import pytest

from gatehold.idp.scopes import ApiPolicy, client_credentials_scopes, parse_scope, user_scopes

RBAC = ApiPolicy(
    "https://unicorns-api", frozenset({"read:unicorn", "list:unicorns"}), True, "access_token_authz", True
)
OPEN = ApiPolicy("https://open", frozenset({"read:x", "write:x"}), False, "access_token", False)


@pytest.mark.parametrize(
    ("requested", "api", "held", "may_refresh", "scopes", "permissions"),
    [
        pytest.param(
            "openid read:unicorn list:unicorns",
            RBAC,
            {"read:unicorn", "list:unicorns"},
            True,
            ["openid", "read:unicorn", "list:unicorns"],
            ["list:unicorns", "read:unicorn"],
            id="trainer",
        ),
        pytest.param(
            "openid read:unicorn list:unicorns",
            RBAC,
            {"read:unicorn"},
            True,
            ["openid", "read:unicorn"],
            ["read:unicorn"],
            id="rider",
        ),
        pytest.param(
            "list:unicorns",
            RBAC,
            {"read:unicorn"},
            True,
            [],
            ["read:unicorn"],
            id="permissions-claim-lists-all-held",
        ),
        pytest.param(
            "offline_access read:unicorn",
            RBAC,
            {"read:unicorn"},
            True,
            ["offline_access", "read:unicorn"],
            ["read:unicorn"],
            id="offline-allowed",
        ),
        pytest.param(
            "offline_access read:unicorn",
            RBAC,
            {"read:unicorn"},
            False,
            ["read:unicorn"],
            ["read:unicorn"],
            id="offline-needs-refresh-grant",
        ),
        pytest.param("offline_access read:x", OPEN, set(), True, ["read:x"], None, id="api-without-offline"),
        pytest.param(
            "read:x delete:x", OPEN, set(), True, ["read:x"], None, id="rbac-off-api-permissions-bound"
        ),
        pytest.param(
            "openid profile email read:x",
            None,
            set(),
            True,
            ["openid", "profile", "email"],
            None,
            id="no-audience-oidc-only",
        ),
    ],
)
def test_user_scopes(
    requested: str,
    api: ApiPolicy | None,
    held: set[str],
    may_refresh: bool,
    scopes: list[str],
    permissions: list[str] | None,
) -> None:
    grant = user_scopes(parse_scope(requested), api, held, may_refresh=may_refresh)
    assert grant.scopes == scopes
    assert grant.permissions == permissions


@pytest.mark.parametrize(
    ("requested", "grant", "expected"),
    [
        pytest.param("", ["a", "b"], ["a", "b"], id="none-requested-all-granted"),
        pytest.param("b", ["a", "b"], ["b"], id="subset"),
        pytest.param("b c", ["a", "b"], ["b"], id="intersection"),
        pytest.param("c", ["a", "b"], [], id="disjoint"),
    ],
)
def test_client_credentials_scopes(requested: str, grant: list[str], expected: list[str]) -> None:
    assert client_credentials_scopes(parse_scope(requested), grant) == expected


def test_parse_scope_dedupes_keeping_order() -> None:
    assert parse_scope(" b a  b ") == ["b", "a"]
