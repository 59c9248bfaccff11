"""The identity provider's domain operations, shared by the HTTP endpoints and the CLI.

Everything here is synchronous and talks to the store; the Starlette endpoints call it from a
worker thread (or inline, for the in-memory client-credentials path). ``now`` is always passed in.

A *grant* is what a user's authorization produced, stored with the code and with each refresh
token of the family::

    {"audience", "requested": [..], "scope": [..], "permissions": [..] | None,
     "access_claims": {..}, "id_claims": {..}, "nonce", "auth_time", "sid", "connection"}
"""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

import jwt
from sqlalchemy.exc import IntegrityError, OperationalError

from gatehold.config.models import TenantConfig
from gatehold.idp.attempts import LoginAttempts, RedisLoginAttempts
from gatehold.idp.client_credentials import JtiSource, M2MGrant, compile_grants
from gatehold.idp.errors import (
    AccessDenied,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    InvalidToken,
    OAuthError,
    UnauthorizedClient,
)
from gatehold.idp.hooks import Hook, load_hooks, run_hooks
from gatehold.idp.keys import KeyRing
from gatehold.idp.rfc7636 import verify as verify_pkce
from gatehold.idp.scopes import (
    OFFLINE_ACCESS,
    parse_scope,
    user_scopes,
)
from gatehold.idp.store import (
    ClientRow,
    CodeRow,
    RefreshTokenRow,
    SessionRow,
    Store,
    StoreUnavailable,
    UserRow,
    digest,
)
from gatehold.idp.tenant import (
    Tenant,
    apply_tenant,
    hash_password,
    user_profile,
    verify_password,
)
from gatehold.idp.tokens import Signer, access_token_claims, id_token_claims, profile_claims

if TYPE_CHECKING:
    from gatehold.redis_state import SyncRedis

log = logging.getLogger("gatehold.idp")

USERINFO_TOKEN_LIFETIME = 86400


class TokenResponse(TypedDict, total=False):
    """RFC 6749 §5.1 (+ OIDC Core §3.1.3.3 ``id_token``)."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str
    id_token: str
    refresh_token: str


class ClientAuth(NamedTuple):
    """How the client presented itself at the token endpoint (RFC 6749 §2.3)."""

    client_id: str | None
    client_secret: str | None
    method: str  # client_secret_basic | client_secret_post | none


class IdentityProvider:
    def __init__(
        self, store: Store, tenant_config: TenantConfig, *, issuer: str, base_dir: Path | None = None
    ):
        if not issuer.endswith("/"):
            raise ValueError("the issuer ends with '/' (public URL + '/')")
        self.store = store
        self.config = tenant_config
        self.issuer = issuer
        self.base_dir = base_dir
        self.keys = KeyRing(store)
        self.signer = Signer(self.keys)
        self.tenant: Tenant | None = None
        self.m2m: dict[tuple[str, str], M2MGrant] = {}  # compiled client grants (client_credentials)
        self.new_jti = JtiSource()
        self.post_login: list[Hook] = []
        self.credentials_exchange: list[Hook] = []
        self.attempts: LoginAttempts | RedisLoginAttempts = LoginAttempts()

    def share_through(self, redis: SyncRedis) -> None:
        """``gatehold up --redis-url``: login-attempt counters shared by every process and replica,
        and each key rotation announced (:mod:`gatehold.redis_state`). Authorization codes,
        refresh-token families and revocations are in the store already, which replicas share."""
        self.attempts = RedisLoginAttempts(redis, limit=self.attempts.limit, window=self.attempts.window)

        def announce(kids: list[str], current: str) -> None:
            redis.publish_rotation(self.issuer, kids, current)

        self.keys.announce = announce

    # -- start-up ------------------------------------------------------------------------------

    def startup(self, *, apply: bool = True) -> None:
        """Apply the tenant (idempotent), load keys and hooks. Safe to call again."""
        with self.store.startup_lock():
            if apply:
                self._apply_if_changed()
            self.keys.load()
        tenant = Tenant.load(self.store, self.config)
        self.m2m = compile_grants(self.issuer, tenant.clients, tenant.apis, tenant.grants)
        self.tenant = tenant
        code_path = None
        if self.config.hooks.code_path:
            code_path = (self.base_dir or Path.cwd()) / self.config.hooks.code_path
        self.post_login = load_hooks(self.config.hooks.post_login, code_path)
        self.credentials_exchange = load_hooks(self.config.hooks.credentials_exchange, code_path)

    def _apply_if_changed(self) -> None:
        """Skip the (argon2-heavy) apply when the section is exactly the last one applied."""
        fingerprint = self.config.model_dump_json()
        stored = self.store.applied_tenant_hash()
        if stored is not None and verify_password(stored, fingerprint):
            return
        self._apply_with_retry()
        self.store.set_applied_tenant_hash(hash_password(fingerprint))

    def _apply_with_retry(self, attempts: int = 5) -> None:
        """Several workers may start at once on one database: a lost insert race is retried."""
        for attempt in range(attempts):
            try:
                apply_tenant(self.store, self.config)
                return
            except (IntegrityError, OperationalError, StoreUnavailable):
                if attempt == attempts - 1:
                    raise
                time.sleep(0.1 * (attempt + 1))

    @property
    def t(self) -> Tenant:
        if self.tenant is None:
            raise RuntimeError("IdentityProvider.startup() was not called")
        return self.tenant

    @property
    def userinfo_url(self) -> str:
        return self.issuer + "userinfo"

    # -- clients (RFC 6749 §2.3, §3.2.1) -------------------------------------------------------

    def authenticate_client(self, auth: ClientAuth) -> ClientRow:
        """The client, authenticated; a confidential client must prove its secret, a public client
        must not send one. Every failure is the same ``invalid_client`` (with a Basic challenge when
        Basic was used, RFC 6749 §5.2)."""
        tenant = self.t
        client_id = auth.client_id or ""
        client = tenant.clients.get(client_id) if client_id else None
        if client is not None:
            secret_hash = tenant.client_secrets.get(client_id)
            if secret_hash is None:  # a public client
                if not auth.client_secret:
                    return client
            elif auth.client_secret and secret_hash.verify(auth.client_secret):
                return client
        basic = auth.method == "client_secret_basic"
        challenge = {"WWW-Authenticate": 'Basic realm="gatehold"'} if basic else {}
        raise InvalidClient("client authentication failed", headers=challenge)

    # -- client credentials (RFC 6749 §4.4) ----------------------------------------------------

    def client_credentials(
        self, client_id: str, audience: str | None, scope: str | None, *, now: int
    ) -> TokenResponse:
        """An access token for an authenticated client (RFC 6749 §4.4.3); no store access."""
        grant = self.m2m.get((client_id, audience or ""))
        if grant is None:
            raise self._client_credentials_refusal(client_id, audience)
        plan = grant.plan(scope)
        self.keys.refresh_if_stale()
        jti = self.new_jti()
        if self.credentials_exchange or grant.signing_alg != "RS256":
            scopes, extra = plan.scopes, {}
            if self.credentials_exchange:
                event = {
                    "client": {"client_id": client_id, "name": self.t.clients[client_id].name},
                    "resource_server": {"identifier": grant.audience},
                    "transaction": {"requested_scopes": parse_scope(scope)},
                    "request": {},
                }
                outcome = run_hooks(self.credentials_exchange, event, list(scopes))
                scopes, extra = outcome.scopes, outcome.access_claims
            claims = grant.claims(scopes, now=now, jti=jti, extra=extra)
            access_token = self.signer.for_api(claims, self.t.apis[grant.audience])
            granted = " ".join(scopes)
        else:
            access_token = self.signer.rs256_payload(plan.payload(now, jti))
            granted = plan.scope
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": grant.lifetime,
            "scope": granted,
        }

    def _client_credentials_refusal(self, client_id: str, audience: str | None) -> OAuthError:
        """Why client credentials are refused for this pair, checked in Auth0's order."""
        client = self.t.clients[client_id]
        if "client_credentials" not in client.grant_types or client.secret_hash is None:
            return UnauthorizedClient("the client may not use the client_credentials grant")
        if not audience:
            return AccessDenied("no audience: pass the API identifier as 'audience'")
        if audience not in self.t.apis:
            return AccessDenied(f"Service not found: {audience}")
        return AccessDenied(f"Client is not authorized to access {audience!r}.")

    # -- users ---------------------------------------------------------------------------------

    def login(self, connection: str, username: str, password: str) -> UserRow | None:
        """Check a password (argon2id); constant work whether or not the user exists."""
        user = self.store.find_user(connection, username.strip())
        ok = verify_password(user.password_hash if user else None, password)
        if not ok or user is None or user.blocked:
            return None
        return user

    def user_grant(
        self,
        user: UserRow,
        client_id: str,
        audience: str | None,
        requested: list[str],
        *,
        nonce: str | None = None,
        auth_time: int,
        sid: str | None = None,
    ) -> dict[str, Any]:
        """Auth0's scope rule plus post-login hooks for one user, client and API."""
        client = self.t.clients[client_id]
        if audience is not None and audience not in self.t.apis:
            raise AccessDenied(f"Service not found: {audience}")
        api = self.t.api_policy(audience)
        may_refresh = "refresh_token" in client.grant_types
        permissions_held = self.store.user_permissions(user.user_id, audience) if audience else set()
        decided = user_scopes(requested, api, permissions_held, may_refresh=may_refresh)
        scopes, access_claims, id_claims = decided.scopes, {}, {}
        if self.post_login:
            conn = self.t.connections.get(user.connection)
            event = {
                "user": user_profile(user),
                "connection": {"name": user.connection, "strategy": conn.strategy if conn else "auth0"},
                "client": {"client_id": client.client_id, "name": client.name},
                "resource_server": {"identifier": audience},
                "transaction": {"requested_scopes": list(requested), "requested_audience": audience},
                "authorization": {"roles": self.store.user_roles(user.user_id)},
            }
            outcome = run_hooks(self.post_login, event, scopes)
            scopes, access_claims, id_claims = outcome.scopes, outcome.access_claims, outcome.id_claims
        return {
            "audience": audience,
            "requested": list(requested),
            # the access token's scopes (after the hooks), and what was granted (before them: a hook's
            # api.access_token.remove_scope changes the access token only, as in Auth0, so the ID
            # token and the refresh token follow the granted openid / offline_access)
            "scope": scopes,
            "granted": list(decided.scopes),
            "permissions": decided.permissions,
            "access_claims": access_claims,
            "id_claims": id_claims,
            "nonce": nonce,
            "auth_time": auth_time,
            "sid": sid,
            "connection": user.connection,
        }

    def user_tokens(
        self, user: UserRow, client_id: str, grant: dict[str, Any], *, now: int, nonce: str | None = None
    ) -> tuple[TokenResponse, str]:
        """Access token (+ ID token when openid was granted); returns (response, jti)."""
        client = self.t.clients[client_id]
        audience = grant["audience"]
        api = self.t.apis.get(audience) if audience else None
        lifetime = api.token_lifetime if api else USERINFO_TOKEN_LIFETIME
        scopes: list[str] = grant["scope"]
        jti = secrets.token_urlsafe(16)
        self.keys.refresh_if_stale()
        claims = access_token_claims(
            issuer=self.issuer,
            sub=user.user_id,
            audience=audience,
            client_id=client_id,
            scopes=scopes,
            now=now,
            lifetime=lifetime,
            jti=jti,
            permissions=grant.get("permissions"),
            extra=grant.get("access_claims"),
        )
        access = self.signer.for_api(claims, api)
        out: TokenResponse = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": " ".join(scopes),
        }
        granted = _granted(grant)
        if "openid" in granted:
            out["id_token"] = self.signer.rs256(
                id_token_claims(
                    issuer=self.issuer,
                    user=user,
                    client_id=client_id,
                    scopes=granted,
                    now=now,
                    lifetime=client.id_token_lifetime,
                    auth_time=int(grant["auth_time"]),
                    nonce=nonce,
                    access_token=access,
                    sid=grant.get("sid"),
                    extra=grant.get("id_claims"),
                )
            )
        return out, jti

    # -- authorization codes (RFC 6749 §4.1, RFC 7636) -----------------------------------------

    def issue_code(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        user: UserRow,
        grant: dict[str, Any],
        code_challenge: str | None,
        session_id: str | None,
        now: int,
    ) -> str:
        code = secrets.token_urlsafe(32)
        self.store.save_code(
            CodeRow(
                code_hash=digest(code),
                client_id=client_id,
                redirect_uri=redirect_uri,
                user_id=user.user_id,
                session_id=session_id,
                grant=grant,
                code_challenge=code_challenge,
                expires_at=now + self.config.authorization_code_lifetime,
            )
        )
        return code

    def redeem_code(
        self, client_id: str, code: str, redirect_uri: str | None, verifier: str | None, *, now: int
    ) -> TokenResponse:
        """Exchange a code once. Replay → invalid_grant and what the first use issued is revoked."""
        client = self.t.clients[client_id]
        if "authorization_code" not in client.grant_types:
            raise UnauthorizedClient("the client may not use the authorization_code grant")
        if not code:
            raise InvalidRequest("missing code")
        code_hash = digest(code)
        row, first_use = self.store.redeem_code(code_hash, now)
        if row is None:
            raise InvalidGrant("Invalid authorization code")
        if not first_use:
            self._revoke_code_issuance(row, now)
            log.warning("authorization code replayed for client %s; its tokens were revoked", row.client_id)
            raise InvalidGrant("Invalid authorization code")
        # From here on the code is burnt: any failure below leaves it unusable (RFC 9700 §2.1.1).
        if row.client_id != client_id:
            raise InvalidGrant("Invalid authorization code")
        if now >= row.expires_at:
            raise InvalidGrant("Invalid authorization code")
        # RFC 6749 §4.1.3: required, and identical, when /authorize carried one
        if redirect_uri is None and row.grant.get("redirect_uri_given", True):
            raise InvalidGrant("redirect_uri is required: it was sent to /authorize")
        if redirect_uri is not None and redirect_uri != row.redirect_uri:
            raise InvalidGrant("redirect_uri does not match the one used at /authorize")
        if client.secret_hash is None and row.code_challenge is None:
            raise InvalidGrant("public clients must use PKCE")
        verify_pkce(row.code_challenge, verifier)
        user = self.store.user(row.user_id)
        if user is None or user.blocked:
            raise InvalidGrant("user is blocked")
        grant = row.grant
        response, jti = self.user_tokens(user, client_id, grant, now=now, nonce=grant.get("nonce"))
        family = None
        if OFFLINE_ACCESS in _granted(grant):
            response["refresh_token"], family = self._new_refresh_family(client_id, user, grant, now)
        self.store.record_code_issuance(code_hash, family, jti, now + int(response["expires_in"]))
        return response

    def _revoke_code_issuance(self, row: CodeRow, now: int) -> None:
        if row.issued_family:
            self.store.revoke_family(row.issued_family, now)
        if row.issued_jti:
            self.store.revoke_jti(row.issued_jti, row.issued_exp or now + USERINFO_TOKEN_LIFETIME)

    # -- refresh tokens (RFC 6749 §6, RFC 9700 §4.14.2) ----------------------------------------

    def _refresh_row(
        self,
        client_id: str,
        user: UserRow,
        grant: dict[str, Any],
        now: int,
        family: str,
        absolute: int | None,
    ) -> tuple[str, RefreshTokenRow]:
        policy = self.t.clients[client_id].refresh_token
        token = secrets.token_urlsafe(32)
        idle = now + int(policy["idle_token_lifetime"]) if policy["expiration_type"] == "expiring" else None
        row = RefreshTokenRow(
            token_hash=digest(token),
            family_id=family,
            client_id=client_id,
            user_id=user.user_id,
            grant=grant,
            created_at=now,
            expires_at=absolute,
            idle_expires_at=idle,
        )
        return token, row

    def _new_refresh_family(
        self, client_id: str, user: UserRow, grant: dict[str, Any], now: int
    ) -> tuple[str, str]:
        policy = self.t.clients[client_id].refresh_token
        absolute = now + int(policy["token_lifetime"]) if policy["expiration_type"] == "expiring" else None
        family = secrets.token_hex(16)
        token, row = self._refresh_row(client_id, user, grant, now, family, absolute)
        self.store.save_refresh(row)
        return token, family

    def refresh(self, client_id: str, refresh_token: str, scope: str | None, *, now: int) -> TokenResponse:
        client = self.t.clients[client_id]
        if "refresh_token" not in client.grant_types:
            raise UnauthorizedClient("the client may not use the refresh_token grant")
        if not refresh_token:
            raise InvalidRequest("missing refresh_token")
        row = self.store.refresh(digest(refresh_token))
        invalid = InvalidGrant("Unknown or invalid refresh token.")
        if row is None or row.client_id != client_id or row.revoked_at is not None:
            raise invalid
        policy = client.refresh_token
        rotating = policy["rotation_type"] == "rotating"
        if row.rotated_at is not None:
            leeway = int(policy.get("leeway", 0))
            in_leeway = leeway > 0 and now - row.rotated_at < leeway
            if in_leeway and not self.store.family_revoked(row.family_id):
                pass  # within the configured reuse interval (Auth0's "leeway"): a concurrent retry
            else:
                self.store.revoke_family(row.family_id, now)
                log.warning("refresh token reuse for client %s: family revoked", client_id)
                raise invalid
        if (row.expires_at is not None and now >= row.expires_at) or (
            row.idle_expires_at is not None and now >= row.idle_expires_at
        ):
            raise invalid
        user = self.store.user(row.user_id)
        if user is None or user.blocked:
            raise InvalidGrant("user is blocked")
        old = row.grant
        requested = list(old["requested"])
        if scope:
            narrowed = parse_scope(scope)
            if not set(narrowed) <= set(old["scope"]) | set(_granted(old)):
                raise InvalidScope("the requested scope exceeds the original grant (RFC 6749 §6)")
            requested = narrowed
        grant = self.user_grant(
            user, client_id, old["audience"], requested, auth_time=int(old["auth_time"]), sid=old.get("sid")
        )
        # the family exists, so offline access was granted (and is in the access token, unless a hook
        # took it out of it)
        if OFFLINE_ACCESS not in grant["granted"]:
            grant["granted"].append(OFFLINE_ACCESS)
        if OFFLINE_ACCESS in old["scope"] and OFFLINE_ACCESS not in grant["scope"]:
            grant["scope"].append(OFFLINE_ACCESS)
        response, _jti = self.user_tokens(user, client_id, grant, now=now)
        if rotating:
            token, new_row = self._refresh_row(client_id, user, grant, now, row.family_id, row.expires_at)
            if row.rotated_at is None and not self.store.rotate_refresh(row.token_hash, now, new_row):
                # lost a race with a concurrent use of the same token: that is reuse
                self.store.revoke_family(row.family_id, now)
                raise invalid
            if row.rotated_at is not None:
                self.store.save_refresh(new_row)
            response["refresh_token"] = token
        elif policy["expiration_type"] == "expiring":
            self.store.touch_refresh(row.token_hash, now + int(policy["idle_token_lifetime"]))
        return response

    def revoke(self, client_id: str, token: str, *, now: int) -> None:
        """RFC 7009 §2.1: revoking a refresh token revokes its family; unknown tokens are ignored."""
        row = self.store.refresh(digest(token)) if token else None
        if row is not None and row.client_id == client_id:
            self.store.revoke_family(row.family_id, now)

    # -- sessions ------------------------------------------------------------------------------

    def new_session(self, user: UserRow, now: int) -> str:
        sid = secrets.token_urlsafe(32)
        self.store.save_session(
            SessionRow(
                session_hash=digest(sid),
                user_id=user.user_id,
                auth_time=now,
                last_seen=now,
                expires_at=now + self.config.session_lifetime,
            )
        )
        return sid

    def session(self, sid: str | None, now: int) -> SessionRow | None:
        if not sid:
            return None
        row = self.store.session(digest(sid))
        if row is None or now >= row.expires_at or now - row.last_seen >= self.config.idle_session_lifetime:
            return None
        if now - row.last_seen > 60:
            self.store.touch_session(row.session_hash, now)
        return row

    def end_session(self, sid: str | None) -> None:
        if sid:
            self.store.delete_session(digest(sid))

    # -- verifying our own tokens (/userinfo, id_token_hint) -----------------------------------

    def verify_access_token(self, token: str, *, now: int) -> dict[str, Any]:
        """An access token issued here for /userinfo (RFC 6750); raises InvalidToken."""
        try:
            header = jwt.get_unverified_header(token)
            alg = header.get("alg")
            if alg == "RS256":
                key = self.keys.get(str(header.get("kid", "")))
                if key is None:
                    self.keys.refresh_if_stale()
                    key = self.keys.get(str(header.get("kid", "")))
                if key is None:
                    raise InvalidToken("unknown key")
                claims: dict[str, Any] = jwt.decode(
                    token,
                    key.public_key,
                    algorithms=["RS256"],
                    audience=self.userinfo_url,
                    issuer=self.issuer,
                    options={"require": ["exp", "iat", "sub"]},
                )
            elif alg == "HS256":
                unverified = jwt.decode(token, options={"verify_signature": False})
                auds = unverified.get("aud")
                auds = auds if isinstance(auds, list) else [auds]
                apis = [self.t.apis[a] for a in auds if a in self.t.apis]
                if len(apis) != 1 or apis[0].signing_alg != "HS256" or not apis[0].signing_secret:
                    raise InvalidToken("invalid token")
                claims = jwt.decode(
                    token,
                    apis[0].signing_secret,
                    algorithms=["HS256"],
                    audience=self.userinfo_url,
                    issuer=self.issuer,
                    options={"require": ["exp", "iat", "sub"]},
                )
            else:
                raise InvalidToken("invalid token")
        except jwt.PyJWTError as exc:
            raise InvalidToken("invalid token") from exc
        if claims.get("jti") and self.store.jti_revoked(str(claims["jti"])):
            raise InvalidToken("the access token was revoked")
        if "openid" not in str(claims.get("scope", "")).split():
            raise InvalidToken("the token was not granted the openid scope")
        return claims

    def verify_id_token_hint(self, token: str) -> dict[str, Any] | None:
        """OIDC RP-Initiated Logout §2: an ID token we issued, expired or not."""
        try:
            header = jwt.get_unverified_header(token)
            key = self.keys.get(str(header.get("kid", "")))
            if key is None or header.get("alg") != "RS256":
                return None
            claims: dict[str, Any] = jwt.decode(
                token,
                key.public_key,
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"verify_exp": False, "verify_aud": False},
            )
            return claims
        except jwt.PyJWTError:
            return None

    def userinfo(self, claims: dict[str, Any]) -> dict[str, Any]:
        user = self.store.user(str(claims["sub"]))
        if user is None:
            raise InvalidToken("unknown user")
        scopes = str(claims.get("scope", "")).split()
        return {"sub": user.user_id, **profile_claims(user, scopes)}


def _granted(grant: dict[str, Any]) -> list[str]:
    """The scopes granted before the hooks changed the access token's (a grant stored before
    ``granted`` was kept: its access token's)."""
    granted: list[str] = grant.get("granted", grant["scope"])
    return granted
