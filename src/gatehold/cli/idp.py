"""Identity-provider commands that work directly on the store (no server needed).

::

    gatehold token --client demo-m2m --audience https://unicorns-api [--scope "read:unicorn"]
    gatehold token --user rider@example.com --client demo-spa --audience https://unicorns-api \\
                   --scope "read:unicorn list:unicorns"
    gatehold token --route "GET /unicorns" [--api unicorns] [--fail MODE | --fail list | --all-failures]
    gatehold users add EMAIL [--connection C] [--name N] [--role R ...]   (password prompted)
    gatehold users list
    gatehold roles list | assign EMAIL ROLE | unassign EMAIL ROLE
    gatehold keys list | rotate

``token`` mints like Auth0's API "Test" tab: client credentials for an application and audience,
or for a user through the same scope rules and post-login hooks as a real login. ``--route`` reads
the route's authorizer instead and mints a token that passes it, or fails it in one named way
(:mod:`gatehold.cli.token_route`). A running server picks up user, role and key changes (keys
within a few seconds).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gatehold.cli.common import (
    config_option,
    console,
    current_import_options,
    data_dir_option,
    err_console,
    load_or_exit,
)
from gatehold.config import LoadedConfig
from gatehold.config.models import GatewaySettings
from gatehold.idp.errors import OAuthError
from gatehold.idp.schema import SchemaTooNew
from gatehold.idp.scopes import parse_scope
from gatehold.idp.service import IdentityProvider
from gatehold.idp.store import Store, StoreUnavailable, UserRow
from gatehold.idp.tenant import hash_password, new_user_id
from gatehold.importers import ImportOptions
from gatehold.server import StackOptions
from gatehold.stack_state import STACK_STATE, read_stack_state

if TYPE_CHECKING:
    from gatehold.redis_state import SyncRedis

F = TypeVar("F", bound=Callable[..., Any])


def store_options(f: F) -> F:
    f = click.option(
        "--public-url", default=None, help="Public base URL of the identity provider (issuer = URL + '/')."
    )(f)
    f = click.option(
        "--database-url", default=None, help="SQLAlchemy URL of the store (default: SQLite in the data dir)."
    )(f)
    f = data_dir_option(f)
    return config_option(f)


def open_provider(
    config_path: Path | None, data_dir: Path, database_url: str | None, public_url: str | None
) -> IdentityProvider:
    """:func:`open_stack`'s identity provider."""
    return open_stack(config_path, data_dir, database_url, public_url)[0]


def open_stack(
    config_path: Path | None, data_dir: Path, database_url: str | None, public_url: str | None
) -> tuple[IdentityProvider, LoadedConfig]:
    """The tenant applied (idempotently) and the keys loaded, as `gatehold up` would.

    Without ``-c``, the stack last started with this data directory is followed (its configuration,
    import options and issuer, from ``stack.json``), so tokens minted here are the ones its gateway
    accepts; with no such stack, the example stack."""
    options = None
    state = read_stack_state(data_dir) if config_path is None else None
    if state is not None:
        config_path = Path(state.config_path) if state.config_path else None
        options = current_import_options()
        if options == ImportOptions():
            options = state.options()
        public_url = public_url or state.idp_url
        database_url = database_url or state.database_url
        err_console.print(
            f"following the stack started with {config_path or 'the example stack'} "
            f"(issuer {public_url}/, {data_dir / STACK_STATE})",
            markup=False,
        )
    opts = StackOptions(data_dir=data_dir, public_url=public_url, database_url=database_url)
    loaded = load_or_exit(config_path, opts.variables(), options)
    try:
        store = Store.open(data_dir, database_url)
    except (SchemaTooNew, StoreUnavailable) as exc:  # a newer Gatehold's schema; a database down
        _fail(str(exc))
        raise
    idp = IdentityProvider(store, loaded.config.tenant, issuer=opts.idp_url + "/", base_dir=loaded.base_dir)
    idp.startup()
    return idp, loaded


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    sys.exit(1)


def _find_user(idp: IdentityProvider, email: str, connection: str | None) -> UserRow:
    users = [u for u in idp.store.users_by_email(email) if connection is None or u.connection == connection]
    if not users:
        _fail(f"no user {email!r}" + (f" in connection {connection!r}" if connection else ""))
    if len(users) > 1:
        _fail(f"{email!r} exists in several connections; pass --connection")
    return users[0]


@click.command()
@store_options
@click.option("--client", "client_id", default=None, help="Application (client_id); not with --route.")
@click.option("--audience", default=None, help="API identifier.")
@click.option("--scope", default=None, help="Space-separated scopes (default: all the grant allows).")
@click.option("--user", "user_email", default=None, help="Mint for this user (authorization-code rules).")
@click.option("--connection", default=None, help="The user's connection, when the email is in several.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole token response as JSON.")
@click.option(
    "--route",
    default=None,
    metavar="'METHOD /path'",
    help="A token that passes this route's authorizer (its issuer, audience, scopes; a Lambda "
    "authorizer's 'expects'), and what the gateway answers it.",
)
@click.option("--api", "api_name", default=None, help="With --route: the API, when several have the route.")
@click.option(
    "--fail",
    "fail_mode",
    default=None,
    metavar="MODE",
    help="With --route: a token that fails in one way (expired, not-yet-valid, wrong-audience, "
    "wrong-issuer, unknown-kid, missing-scope, wrong-algorithm, bad-signature, alg-none); "
    "'list' prints the modes, each with its expected response and command.",
)
@click.option(
    "--all-failures", is_flag=True, help="With --route: every mode's token and expected response, as JSON."
)
def token(
    config_path: Path | None,
    data_dir: Path,
    database_url: str | None,
    public_url: str | None,
    client_id: str | None,
    audience: str | None,
    scope: str | None,
    user_email: str | None,
    connection: str | None,
    as_json: bool,
    route: str | None = None,
    api_name: str | None = None,
    fail_mode: str | None = None,
    all_failures: bool = False,
) -> None:
    """Mint a token like Auth0's API "Test" tab and print it, or (--route) one for a route."""
    if route is not None:
        from gatehold.cli.token_route import mint_for_route

        if client_id or audience or connection or database_url or public_url:
            _fail(
                "--route reads the route's authorizer: not with --client, --audience, --connection, "
                "--database-url or --public-url (the stack in --data-dir gives them)"
            )
        mint_for_route(
            config_path=config_path,
            data_dir=data_dir,
            options=current_import_options(),
            route=route,
            api=api_name,
            user=user_email,
            scope=scope,
            fail=fail_mode,
            all_failures=all_failures,
            as_json=as_json,
        )
        return
    if client_id is None or api_name or fail_mode or all_failures:
        _fail(
            "--client is required (or --route 'METHOD /path' for a route's token; --api, --fail and "
            "--all-failures go with --route)"
        )
        return
    idp = open_provider(config_path, data_dir, database_url, public_url)
    if client_id not in idp.t.clients:
        _fail(f"unknown application {client_id!r}")
    now = int(time.time())
    try:
        if user_email is None:
            response: dict[str, Any] = dict(idp.client_credentials(client_id, audience, scope, now=now))
        else:
            user = _find_user(idp, user_email, connection)
            grant = idp.user_grant(user, client_id, audience, parse_scope(scope), auth_time=now)
            body, _jti = idp.user_tokens(user, client_id, grant, now=now)
            response = dict(body)
    except OAuthError as err:
        _fail(f"{err.error}: {err.description}")
    click.echo(json.dumps(response, indent=2) if as_json else response["access_token"])


@click.group()
def users() -> None:
    """Users of the tenant's connections."""


@users.command("add")
@store_options
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--connection", default="Username-Password-Authentication", show_default=True)
@click.option("--name", default=None)
@click.option("--role", "roles", multiple=True, help="Role to assign (repeatable).")
def users_add(
    config_path: Path | None,
    data_dir: Path,
    database_url: str | None,
    public_url: str | None,
    email: str,
    password: str,
    connection: str,
    name: str | None,
    roles: tuple[str, ...],
) -> None:
    """Add a user (password hashed with argon2id), or reset an existing user's password."""
    idp = open_provider(config_path, data_dir, database_url, public_url)
    conn = idp.t.connections.get(connection)
    if conn is None:
        _fail(f"unknown connection {connection!r}")
        return
    known_roles = {r.name for r in idp.store.roles()}
    for role in roles:
        if role not in known_roles:
            _fail(f"unknown role {role!r}")
    now = int(time.time())
    existing = idp.store.find_user(connection, email)
    user = existing or UserRow(
        user_id=new_user_id(conn.strategy, connection),
        connection=connection,
        email=email.lower(),
        email_verified=True,
        blocked=False,
        app_metadata={},
        user_metadata={},
        created_at=now,
    )
    user.name = name or (existing.name if existing else email.lower())
    user.password_hash = hash_password(password)
    user.updated_at = now
    idp.store.save_user(user)
    for role in roles:
        idp.store.assign_role(user.user_id, role)
    console.print(f"{'updated' if existing else 'added'} {user.email} ({user.user_id}) in {connection}")


@users.command("list")
@store_options
def users_list(
    config_path: Path | None, data_dir: Path, database_url: str | None, public_url: str | None
) -> None:
    """List users with their connection and roles."""
    idp = open_provider(config_path, data_dir, database_url, public_url)
    for user in idp.store.users():
        roles = ",".join(idp.store.user_roles(user.user_id)) or "-"
        click.echo(f"{user.email}\t{user.connection}\t{user.user_id}\t{roles}")


@click.group()
def roles() -> None:
    """Roles (RBAC) and their assignment to users."""


@roles.command("list")
@store_options
def roles_list(
    config_path: Path | None, data_dir: Path, database_url: str | None, public_url: str | None
) -> None:
    """List roles and their permissions per API."""
    idp = open_provider(config_path, data_dir, database_url, public_url)
    for role in idp.store.roles():
        perms = "; ".join(f"{aud}: {' '.join(p)}" for aud, p in role.permissions.items())
        click.echo(f"{role.name}\t{perms}")


def _assignment(assign: bool) -> Callable[..., None]:
    def command(
        config_path: Path | None,
        data_dir: Path,
        database_url: str | None,
        public_url: str | None,
        email: str,
        role: str,
        connection: str | None,
    ) -> None:
        idp = open_provider(config_path, data_dir, database_url, public_url)
        if role not in {r.name for r in idp.store.roles()}:
            _fail(f"unknown role {role!r}")
        user = _find_user(idp, email, connection)
        if assign:
            changed = idp.store.assign_role(user.user_id, role)
            console.print(f"{role} {'assigned to' if changed else 'already held by'} {user.email}")
        else:
            changed = idp.store.unassign_role(user.user_id, role)
            console.print(f"{role} {'removed from' if changed else 'was not held by'} {user.email}")

    return command


for _name, _assign, _help in (
    ("assign", True, "Give a user a role."),
    ("unassign", False, "Take a role away."),
):
    roles.command(_name, help=_help)(
        store_options(
            click.argument("email")(
                click.argument("role")(click.option("--connection", default=None)(_assignment(_assign)))
            )
        )
    )


@click.group()
def keys() -> None:
    """The RSA signing keys published in the JWKS."""


@keys.command("list")
@store_options
def keys_list(
    config_path: Path | None, data_dir: Path, database_url: str | None, public_url: str | None
) -> None:
    """List keys: current (signs), next (published, signs after the next rotation), previous."""
    idp = open_provider(config_path, data_dir, database_url, public_url)
    for row in idp.store.signing_keys():
        created = datetime.fromtimestamp(row.created_at, UTC).isoformat(timespec="seconds")
        click.echo(f"{row.kid}\t{row.state}\t{created}")


@keys.command("rotate")
@store_options
@click.option(
    "--redis-url",
    default=None,
    envvar="GATEHOLD_REDIS_URL",
    metavar="URL",
    help="Announce the rotation on this Redis (default: the one the running stack of the data directory "
    "uses, from its stack.json; env GATEHOLD_REDIS_URL): every gateway and identity-provider process "
    "and replica follows within a second.",
)
@click.option("--redis-prefix", default=None, metavar="PREFIX", help="The stack's --redis-prefix.")
def keys_rotate(
    config_path: Path | None,
    data_dir: Path,
    database_url: str | None,
    public_url: str | None,
    redis_url: str | None = None,
    redis_prefix: str | None = None,
) -> None:
    """Promote the published next key to current; keep the old one for verification.

    Says what the stack's gateway will do with tokens the new key signs and with those of the key the
    rotation drops (gateway.jwks_refetch and jwks_cache_ttl; docs/authorizers.md, "Key rotation").
    """
    from gatehold import clock

    idp, loaded = open_stack(config_path, data_dir, database_url, public_url)
    redis = _rotation_redis(data_dir, redis_url, redis_prefix)
    if redis is not None:
        idp.share_through(redis)
    before = {row.kid: row for row in idp.store.signing_keys()}
    own = clock.current()
    clock.install(clock.stack_clock(data_dir))  # a stack on --test-clock: its time in the key rows
    try:
        current = idp.keys.rotate()
    finally:
        clock.install(own)
    dropped = [kid for kid, row in before.items() if row.state == "previous"]
    published = before[current.kid].created_at if current.kid in before else None
    if redis is None:
        console.print(f"signing with {current.kid}; running servers switch within a few seconds")
    elif redis.available:
        console.print(
            f"signing with {current.kid}; announced on Redis {redis.settings.redacted_url}: every process "
            "follows within a second"
        )
        redis.close()
    else:
        console.print(
            f"signing with {current.kid}; Redis {redis.settings.redacted_url} is unavailable, so running "
            "servers switch within a few seconds (when they re-read the key table)"
        )
    for line in rotation_outlook(loaded.config.gateway, current.kid, published, dropped):
        console.print(line, highlight=False, markup=False)


def _rotation_redis(data_dir: Path, url: str | None, prefix: str | None) -> SyncRedis | None:
    """Where ``gatehold keys rotate`` announces the rotation: ``--redis-url``, else the Redis of the
    stack that runs on ``data_dir`` (its stack.json, which has no password: pass the URL, or
    GATEHOLD_REDIS_URL, for a Redis that needs one); None for none."""
    from gatehold.redis_state import DEFAULT_PREFIX, RedisSettings, SyncRedis

    state = read_stack_state(data_dir)
    if url is None and state is not None and state.running:
        url = state.redis_url
        prefix = prefix or state.redis_prefix
    if not url:
        return None
    try:
        settings = RedisSettings(url, prefix or DEFAULT_PREFIX)
    except ValueError as exc:
        _fail(str(exc))
        raise
    return SyncRedis(settings, process="cli")


def rotation_outlook(
    gateway: GatewaySettings, kid: str, published_at: int | None, dropped: list[str]
) -> list[str]:
    """What a gateway caching the issuer's key set does after a rotation: with the new key (published
    as ``next`` since ``published_at``, or never), and with the keys the rotation ``dropped``."""
    ttl, every = gateway.jwks_cache_ttl, gateway.jwks_min_refetch_interval
    lines = []
    if published_at is not None:
        since = datetime.fromtimestamp(published_at, UTC).isoformat(timespec="seconds")
        lines.append(
            f"the gateway: {kid} is in the published key set since {since}; a gateway whose cached key "
            "set is older than that does not know it yet:"
        )
    else:
        lines.append(f"the gateway: {kid} was never published before; no gateway's cached key set knows it:")
    if gateway.jwks_refetch == "on-unknown-kid":
        lines.append(
            f"  jwks_refetch: on-unknown-kid: its first token fetches the key set again (at most once per "
            f"{every:g} s) and passes at once"
        )
    else:
        lines.append(
            f"  jwks_refetch: ttl-only: its tokens are refused (401, the token's signing key is unknown) "
            f"until the cached key set is {ttl} s old"
        )
    for old in dropped:
        lines.append(
            f"  {old} is no longer published: tokens it signed pass until the gateway's cached key set "
            f"expires (at most {ttl} s), then 401"
        )
    return lines
