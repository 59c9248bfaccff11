"""Hooks as Python callables: claims (namespaced), scopes, deny; post-login and credentials-exchange."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from gatehold.idp.errors import AccessDenied, ServerError
from gatehold.idp.hooks import HookApi, run_hooks
from tests.idp.conftest import PASSWORD, IdpServer
from tests.oauth_flow import authorize_code, pkce_pair


def test_scope_changes_and_claims() -> None:
    def hook(event: dict[str, Any], api: HookApi) -> None:
        api.access_token.add_scope("extra")
        api.access_token.remove_scope("drop")
        api.access_token.set_custom_claim("https://example.com/team", "blue")
        api.id_token.set_custom_claim("https://example.com/nick", "n")

    out = run_hooks([hook], {}, ["keep", "drop"])
    assert out.scopes == ["keep", "extra"]
    assert out.access_claims == {"https://example.com/team": "blue"}
    assert out.id_claims == {"https://example.com/nick": "n"}


@pytest.mark.parametrize(
    "claim", [pytest.param("sub", id="reserved"), pytest.param("team", id="not-namespaced")]
)
def test_bad_claims_fail_loudly(claim: str) -> None:
    def hook(event: dict[str, Any], api: HookApi) -> None:
        api.access_token.set_custom_claim(claim, "x")

    with pytest.raises(ServerError):
        run_hooks([hook], {}, [])


def test_deny() -> None:
    def hook(event: dict[str, Any], api: HookApi) -> None:
        api.access.deny("no access on Sundays")

    with pytest.raises(AccessDenied) as info:
        run_hooks([hook], {}, [])
    assert info.value.description == "no access on Sundays"


HOOKS = """
def post_login(event, api):
    if event["user"]["email"].startswith("blocked"):
        api.access.deny("you shall not pass")
    api.access_token.set_custom_claim("https://example.com/connection", event["connection"]["name"])
    api.id_token.set_custom_claim("https://example.com/roles", event["authorization"]["roles"])

def credentials_exchange(event, api):
    if "deny" in event["transaction"]["requested_scopes"]:
        api.access.deny("denied by hook")
    api.access_token.add_scope("hooked")
    api.access_token.set_custom_claim("https://example.com/client", event["client"]["client_id"])
"""

TENANT = """
tenant:
  apis:
    - {identifier: "https://api.example", permissions: ["read:x", "deny"]}
  roles:
    reader: {permissions: {"https://api.example": ["read:x"]}}
  users:
    - {email: ok@example.com, password: "Gatehold-demo-1", roles: [reader]}
    - {email: blocked@example.com, password: "Gatehold-demo-1"}
  applications:
    spa: {app_type: spa, callbacks: ["http://localhost:3000/cb"]}
    m2m: {app_type: non_interactive, client_secret: "m2m-secret-0123456789-0123456789"}
  client_grants:
    - {client_id: m2m, audience: "https://api.example", scope: ["read:x", "deny"]}
  hooks:
    code_path: hooks
    post_login: [my_hooks.post_login]
    credentials_exchange: [my_hooks.credentials_exchange]
"""


@pytest.fixture
def hooked(idp_factory: Callable[..., IdpServer], tmp_path: Path) -> IdpServer:
    (tmp_path / "hooks").mkdir()
    (tmp_path / "hooks" / "my_hooks.py").write_text(textwrap.dedent(HOOKS))
    return idp_factory(config_text=TENANT)


def test_credentials_exchange_hook(hooked: IdpServer) -> None:
    r = httpx.post(
        hooked.url + "/oauth/token",
        data={"grant_type": "client_credentials", "audience": "https://api.example", "scope": "read:x"},
        auth=("m2m", "m2m-secret-0123456789-0123456789"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "read:x hooked"
    claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    assert claims["https://example.com/client"] == "m2m"
    denied = httpx.post(
        hooked.url + "/oauth/token",
        data={"grant_type": "client_credentials", "audience": "https://api.example", "scope": "deny"},
        auth=("m2m", "m2m-secret-0123456789-0123456789"),
    )
    assert denied.status_code == 403
    assert denied.json() == {"error": "access_denied", "error_description": "denied by hook"}


def log_in(idp: IdpServer, email: str, scope: str) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """The SPA's login (authorization code + PKCE) for https://api.example: the redirect's query, and
    the token response (empty when the redirect carried no code)."""
    verifier, challenge = pkce_pair()
    with httpx.Client() as browser:
        query = authorize_code(
            browser,
            idp.url,
            client_id="spa",
            redirect_uri="http://localhost:3000/cb",
            username=email,
            password=PASSWORD,
            audience="https://api.example",
            scope=scope,
            code_challenge=challenge,
        )
    if "code" not in query:
        return query, {}
    exchange = {
        "grant_type": "authorization_code",
        "client_id": "spa",
        "code": query["code"][0],
        "code_verifier": verifier,
        "redirect_uri": "http://localhost:3000/cb",
    }
    tokens: dict[str, Any] = httpx.post(idp.url + "/oauth/token", data=exchange).json()
    return query, tokens


@pytest.mark.parametrize(
    ("email", "outcome"),
    [
        pytest.param("ok@example.com", "code", id="allowed"),
        pytest.param("blocked@example.com", "access_denied", id="denied"),
    ],
)
def test_post_login_hook(hooked: IdpServer, email: str, outcome: str) -> None:
    query, tokens = log_in(hooked, email, "openid read:x")
    if outcome == "access_denied":
        assert query["error"] == ["access_denied"]
        assert query["error_description"] == ["you shall not pass"]
        return
    access = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert access["https://example.com/connection"] == "Username-Password-Authentication"
    id_claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert id_claims["https://example.com/roles"] == ["reader"]


ONLY_ONE_SCOPE = """
def post_login(event, api):
    # an Auth0 rule's `context.accessToken.scope = ["read:x"]`: this one scope, no other
    for scope in event["transaction"]["requested_scopes"]:
        api.access_token.remove_scope(scope)
    api.access_token.add_scope("read:x")
"""


def test_a_hook_sets_the_access_tokens_scopes_and_the_id_and_refresh_tokens_still_come(
    idp_factory: Callable[..., IdpServer], tmp_path: Path
) -> None:
    """A hook's scope changes are the access token's (Auth0: ``api.accessToken.removeScope``); the ID
    token and the refresh token follow what was granted (openid, offline_access), before and after a
    refresh."""
    (tmp_path / "hooks").mkdir()
    (tmp_path / "hooks" / "one_scope.py").write_text(textwrap.dedent(ONLY_ONE_SCOPE))
    tenant = (
        TENANT.replace(
            'permissions: ["read:x", "deny"]}', 'permissions: ["read:x", "deny"], allow_offline_access: true}'
        )
        .replace(
            'callbacks: ["http://localhost:3000/cb"]}',
            'callbacks: ["http://localhost:3000/cb"], grant_types: [authorization_code, refresh_token]}',
        )
        .replace("    credentials_exchange: [my_hooks.credentials_exchange]\n", "")
        .replace("my_hooks.post_login", "one_scope.post_login")
    )
    idp = idp_factory(config_text=tenant)
    _query, first = log_in(idp, "ok@example.com", "openid profile email offline_access read:x")
    refreshed = httpx.post(
        idp.url + "/oauth/token",
        data={"grant_type": "refresh_token", "client_id": "spa", "refresh_token": first["refresh_token"]},
    ).json()
    for tokens in (first, refreshed):
        access = jwt.decode(tokens["access_token"], options={"verify_signature": False})
        assert access["scope"] == "read:x"
        id_claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
        assert id_claims["email"] == "ok@example.com"  # the profile scopes were granted
        assert "refresh_token" in tokens
