"""HTTP API JWT authorizer (docs/aws-reference.md §3.1-§3.3).

1. the token from the identity source (default ``$request.header.Authorization``), one leading
   ``Bearer `` stripped (case-sensitive; AWS documents "the token, or the token prefixed with
   Bearer"); missing → 401;
2. :class:`~gatehold.jose.JwtVerifier`: ``kid`` in the issuer's JWKS (discovered from
   ``{issuer}/.well-known/openid-configuration``), RSA signature (RS256/RS384/RS512 only, the
   algorithm bound to the key), ``iss`` exact, ``aud`` (else ``client_id``), ``exp``, ``nbf``, ``iat``;
   any failure → 401 ``{"message":"Unauthorized"}`` with
   ``www-authenticate: Bearer scope="" error="invalid_token" error_description="…"``;
3. route ``authorization_scopes``: the token's ``scope``/``scp`` must contain at least one → else
   403 ``{"message":"Forbidden"}`` with ``www-authenticate: Bearer scope="<required>"
   error="insufficient_scope" …`` (shape inferred from RFC 6750 §3.1; UNVERIFIED, §3.2).

The claims reach the integration as ``requestContext.authorizer.jwt`` (stringified by
:mod:`gatehold.gateway.events`); ``scopes`` is the token's scopes when the route has scopes, else null.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gatehold.errors import GatewayError
from gatehold.gateway.authorizers.identity import IdentitySource, resolve
from gatehold.gateway.authorizers.outcomes import forbidden, unauthorized
from gatehold.gateway.events import header_view, stringify_claim
from gatehold.gateway.model import AuthorizerOutcome, DecisionTrace, GatewayRequest, RouteMatch
from gatehold.jose import JoseError, JwtVerifier, token_scopes
from gatehold.jose.cache import token_digest

HTTP_JWT_ALGORITHMS = ("RS256", "RS384", "RS512")  # "Currently, only RSA-based algorithms are supported"


def bearer_token(value: str) -> str:
    return value[7:] if value.startswith("Bearer ") else value


def invalid_token_header(description: str) -> dict[str, str]:
    return {"www-authenticate": f'Bearer scope="" error="invalid_token" error_description="{description}"'}


def insufficient_scope(required: Sequence[str], reason: str) -> GatewayError:
    header = (
        f'Bearer scope="{" ".join(required)}" error="insufficient_scope" '
        'error_description="the token does not have the required scopes"'
    )
    return forbidden(reason, {"www-authenticate": header})


def check_scopes(
    claims: dict[str, Any], required: Sequence[str], base: dict[str, Any], trace: DecisionTrace
) -> list[str] | None:
    """Any-of scope check; the token's scopes for the event (None when the route has none)."""
    if not required:
        return None
    scopes = token_scopes(claims)
    if not any(s in scopes for s in required):
        trace.add("authorizer", "deny", **base, check="scope", required=" ".join(required))
        raise insufficient_scope(required, f"the token has none of the scopes {' '.join(required)}")
    return scopes


class TokenGrant:
    """What one verified token means to an HTTP JWT authorizer, computed once and kept in the
    verified-token cache entry (:attr:`gatehold.jose.cache.VerifiedToken.derived`), so a cache hit
    costs a digest, a dict lookup, an ``exp`` compare and (on a route with scopes) a set test.

    The outcomes are shared by every request that presents the token: nothing downstream mutates an
    :class:`AuthorizerOutcome`, and the event builders copy what they put into an event.
    """

    __slots__ = ("scope_set", "scoped", "sub", "unscoped")

    def __init__(self, claims: dict[str, Any]) -> None:
        scopes = token_scopes(claims)
        self.scope_set = frozenset(scopes)
        self.sub = str(claims.get("sub"))
        event_claims = {k: stringify_claim(v) for k, v in claims.items()}
        # the route has no authorization_scopes: scopes null in the event (§3.3)
        self.unscoped = AuthorizerOutcome(kind="jwt", claims=claims, scopes=None, event_claims=event_claims)
        self.scoped = AuthorizerOutcome(kind="jwt", claims=claims, scopes=scopes, event_claims=event_claims)


_NO_SCOPES: tuple[tuple[str, ...], frozenset[str]] | None = None


class HttpJwtAuthorizer:
    def __init__(
        self, *, name: str, identity_source: IdentitySource, verifier: JwtVerifier, account_id: str
    ) -> None:
        self.name = name
        self.identity_source = identity_source
        self.verifier = verifier
        self.account_id = account_id
        # a header source other than Cookie is read from the request's HeaderView (repeats joined by
        # commas, as the generic resolver does for HTTP APIs)
        header = identity_source.lower_name if identity_source.part == "header" else None
        self._header = header if header != "cookie" else None
        # per route key: the route's authorization_scopes and their set, or None (no scopes)
        self._required: dict[str, tuple[tuple[str, ...], frozenset[str]] | None] = {}

    def _token(self, request: GatewayRequest, match: RouteMatch) -> str | None:
        if self._header is not None:  # the common case, without the generic resolver
            return header_view(request).headers.get(self._header)
        values, missing = resolve(
            (self.identity_source,), request, match, account_id=self.account_id, join_repeats=True
        )
        return None if missing is not None else values[0]

    def _route_scopes(self, match: RouteMatch) -> tuple[tuple[str, ...], frozenset[str]] | None:
        route = match.route
        try:
            return self._required[route.route_key]
        except KeyError:
            scopes = tuple(route.config.authorization_scopes)
            found = self._required[route.route_key] = (scopes, frozenset(scopes)) if scopes else _NO_SCOPES
            return found

    async def authorize(
        self, request: GatewayRequest, match: RouteMatch, trace: DecisionTrace
    ) -> AuthorizerOutcome:
        value = self._token(request, match)
        if not value:
            trace.add(
                "authorizer",
                "unauthorized",
                authorizer=self.name,
                type="JWT",
                check="identity",
                missing=self.identity_source.expression,
            )
            raise unauthorized(
                f"identity source {self.identity_source.expression} is missing or empty",
                {"www-authenticate": "Bearer"},
            )
        token = value[7:] if value.startswith("Bearer ") else value  # bearer_token, inline
        verifier = self.verifier
        now = verifier.clock()
        digest = token_digest(token)
        entry = verifier.cached_entry(digest, now)
        if entry is not None:
            cache = "hit"
        else:
            cache = "miss"
            try:
                entry = await verifier.verify_uncached_entry(token, digest, now)
            except JoseError as exc:
                trace.add(
                    "authorizer",
                    "unauthorized",
                    authorizer=self.name,
                    type="JWT",
                    check=exc.check,
                    error=exc.description,
                )
                trace.note(now=now)  # the time the claims were checked against, for gatehold explain
                raise unauthorized(exc.description, invalid_token_header(exc.description)) from None
        grant = entry.derived
        if not isinstance(grant, TokenGrant):
            grant = entry.derived = TokenGrant(entry.claims)
        required = self._route_scopes(match)
        if required is None:
            outcome = grant.unscoped
        elif required[1].isdisjoint(grant.scope_set):  # any-of: none of the route's scopes
            names = " ".join(required[0])
            trace.add(
                "authorizer",
                "deny",
                authorizer=self.name,
                type="JWT",
                cache=cache,
                check="scope",
                required=names,
            )
            raise insufficient_scope(required[0], f"the token has none of the scopes {names}")
        else:
            outcome = grant.scoped
        trace.add("authorizer", "allow", authorizer=self.name, type="JWT", cache=cache, sub=grant.sub)
        return outcome
