"""The store on SQLite and PostgreSQL: restart with nothing lost, key rotation, idempotent tenant."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
from click.testing import CliRunner

from gatehold.cli.idp import keys as keys_cli
from gatehold.cli.idp import roles as roles_cli
from gatehold.cli.idp import users as users_cli
from gatehold.idp.store import Store, default_url
from gatehold.idp.tenant import apply_tenant
from tests.idp.conftest import M2M_SECRET, PASSWORD, IdpServer, load_example
from tests.oauth_flow import login

CALLBACK = "http://localhost:3000/callback"
UNICORNS = "https://unicorns-api"


def m2m_token(idp: IdpServer) -> str:
    r = httpx.post(
        idp.url + "/oauth/token",
        data={"grant_type": "client_credentials", "audience": UNICORNS},
        auth=("demo-m2m", M2M_SECRET),
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


def verify_from_jwks(idp: IdpServer, token: str) -> dict[str, object]:
    client = jwt.PyJWKClient(idp.url + "/.well-known/jwks.json", cache_jwk_set=False)
    key = client.get_signing_key_from_jwt(token)
    claims: dict[str, object] = jwt.decode(
        token, key.key, algorithms=["RS256"], audience=UNICORNS, issuer=idp.issuer
    )
    return claims


def user_login(
    idp: IdpServer, username: str, scope: str = "openid offline_access read:unicorn list:unicorns"
) -> dict[str, Any]:
    return login(
        idp.url,
        client_id="demo-spa",
        redirect_uri=CALLBACK,
        username=username,
        password=PASSWORD,
        audience=UNICORNS,
        scope=scope,
    )


def cli_args(server: IdpServer) -> list[str]:
    args = ["--data-dir", str(server.data_dir), "--public-url", server.url]
    if server.database_url:
        args += ["--database-url", server.database_url]
    return args


def test_restart_loses_nothing(
    idp_factory: Callable[..., IdpServer], database_url: str | None, tmp_path: Path
) -> None:
    first = idp_factory(tmp_path / "data", database_url=database_url)
    token = m2m_token(first)
    kid = jwt.get_unverified_header(token)["kid"]
    tokens = user_login(first, "rider@example.com")
    # day-to-day administration through the CLI, while the server runs
    runner = CliRunner()
    added = runner.invoke(
        users_cli,
        ["add", "new@example.com", "--password", PASSWORD, "--role", "unicorn-trainer", *cli_args(first)],
    )
    assert added.exit_code == 0, added.output
    port = first.port
    first.stop()

    second = idp_factory(tmp_path / "data", database_url=database_url, port=port)
    assert verify_from_jwks(second, token)["sub"] == "demo-m2m@clients"
    assert jwt.get_unverified_header(m2m_token(second))["kid"] == kid  # same signing key
    refreshed = httpx.post(
        second.url + "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "demo-spa",
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["scope"] == "openid offline_access read:unicorn"
    new_user = user_login(second, "new@example.com", scope="read:unicorn list:unicorns")
    assert new_user["scope"] == "read:unicorn list:unicorns"


def test_role_changes_apply_to_next_token(
    idp_factory: Callable[..., IdpServer], database_url: str | None
) -> None:
    server = idp_factory(database_url=database_url)
    runner = CliRunner()
    assert (
        user_login(server, "rider@example.com", scope="read:unicorn list:unicorns")["scope"] == "read:unicorn"
    )
    r = runner.invoke(roles_cli, ["assign", "rider@example.com", "unicorn-trainer", *cli_args(server)])
    assert r.exit_code == 0, r.output
    assert user_login(server, "rider@example.com", scope="read:unicorn list:unicorns")["scope"] == (
        "read:unicorn list:unicorns"
    )
    r = runner.invoke(roles_cli, ["unassign", "rider@example.com", "unicorn-trainer", *cli_args(server)])
    assert r.exit_code == 0, r.output
    assert (
        user_login(server, "rider@example.com", scope="read:unicorn list:unicorns")["scope"] == "read:unicorn"
    )


def test_key_rotation_publishes_next_first_and_keeps_previous(
    idp_factory: Callable[..., IdpServer], database_url: str | None
) -> None:
    server = idp_factory(database_url=database_url)
    server.provider.keys.reload_interval = 0  # see a CLI rotation immediately
    jwks_before = httpx.get(server.url + "/.well-known/jwks.json").json()["keys"]
    assert len(jwks_before) == 2  # current + next
    for key in jwks_before:
        assert set(key) == {"kty", "use", "alg", "kid", "n", "e"}
        assert (key["kty"], key["use"], key["alg"]) == ("RSA", "sig", "RS256")
    old_token = m2m_token(server)
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    next_kid = next(k["kid"] for k in jwks_before if k["kid"] != old_kid)

    result = CliRunner().invoke(keys_cli, ["rotate", *cli_args(server)])
    assert result.exit_code == 0, result.output
    new_token = m2m_token(server)
    assert jwt.get_unverified_header(new_token)["kid"] == next_kid  # the key published in advance
    verify_from_jwks(server, old_token)
    verify_from_jwks(server, new_token)
    kids = [k["kid"] for k in httpx.get(server.url + "/.well-known/jwks.json").json()["keys"]]
    assert len(kids) == 3
    assert old_kid in kids
    assert next_kid in kids

    CliRunner().invoke(keys_cli, ["rotate", *cli_args(server)])
    kids = [k["kid"] for k in httpx.get(server.url + "/.well-known/jwks.json").json()["keys"]]
    assert old_kid not in kids  # two rotations later the oldest key is gone
    verify_from_jwks(server, new_token)


def test_tenant_apply_is_idempotent(database_url: str | None, tmp_path: Path) -> None:
    store = Store(database_url or default_url(tmp_path))
    loaded = load_example("http://localhost:9000", tmp_path)
    try:
        apply_tenant(store, loaded.config.tenant)
        first = {(u.user_id, u.password_hash) for u in store.users()}
        secrets_before = {c.client_id: c.secret_hash for c in store.clients()}
        apply_tenant(store, loaded.config.tenant)
        assert {(u.user_id, u.password_hash) for u in store.users()} == first
        assert {c.client_id: c.secret_hash for c in store.clients()} == secrets_before
        assert len(store.client_grants()) == 3
        assert sorted(r.name for r in store.roles()) == ["unicorn-rider", "unicorn-trainer"]
        for client in store.clients():
            assert client.secret_hash is None or "demo-m2m-secret" not in client.secret_hash
        for user in store.users():
            assert user.password_hash.startswith("$argon2id$")
    finally:
        store.close()


def test_concurrent_first_start_agrees_on_keys(database_url: str | None, tmp_path: Path) -> None:
    """Several workers starting at once on an empty database end with one key set."""
    from concurrent.futures import ThreadPoolExecutor

    from gatehold.idp.service import IdentityProvider

    loaded = load_example("http://localhost:9000", tmp_path)

    def start(_: int) -> str:
        store = Store(database_url or default_url(tmp_path))
        idp = IdentityProvider(store, loaded.config.tenant, issuer="http://localhost:9000/")
        idp.startup()
        return idp.keys.current.kid

    with ThreadPoolExecutor(3) as pool:
        kids = list(pool.map(start, range(3)))
    store = Store(database_url or default_url(tmp_path))
    try:
        rows = store.signing_keys()
        current = [r.kid for r in rows if r.state == "current"]
        assert len(current) == 1
        assert len([r for r in rows if r.state == "next"]) == 1
        assert len(store.users()) == 4
        # a worker that lost the race re-reads on its next load; the survivor is the same for all
        fresh = IdentityProvider(store, loaded.config.tenant, issuer="http://localhost:9000/")
        fresh.startup(apply=False)
        assert fresh.keys.current.kid == current[0]
        assert set(kids) <= {current[0], *kids}
    finally:
        store.close()


def test_unchanged_tenant_is_not_reapplied(database_url: str | None, tmp_path: Path) -> None:
    """A restart with the same section keeps CLI changes; a changed section is applied again."""
    from gatehold.idp.service import IdentityProvider
    from gatehold.idp.tenant import hash_password, verify_password

    loaded = load_example("http://localhost:9000", tmp_path)
    store = Store(database_url or default_url(tmp_path))
    try:
        IdentityProvider(store, loaded.config.tenant, issuer="http://localhost:9000/").startup()
        rider = store.find_user("Username-Password-Authentication", "rider@example.com")
        assert rider is not None
        rider.password_hash = hash_password("Reset-by-cli-1")  # what `gatehold users add` does
        store.save_user(rider)
        IdentityProvider(store, loaded.config.tenant, issuer="http://localhost:9000/").startup()
        again = store.find_user("Username-Password-Authentication", "rider@example.com")
        assert again is not None
        assert verify_password(again.password_hash, "Reset-by-cli-1")
        changed = loaded.config.tenant.model_copy(update={"friendly_name": "Renamed tenant"})
        IdentityProvider(store, changed, issuer="http://localhost:9000/").startup()
        final = store.find_user("Username-Password-Authentication", "rider@example.com")
        assert final is not None
        assert verify_password(final.password_hash, PASSWORD)  # the file's password again
    finally:
        store.close()
