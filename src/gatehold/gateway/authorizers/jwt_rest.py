"""REST API JWT authorizer (AWS's newer feature: ``rest-api-jwt-authorizer``).

Configured like AWS documents it: several trusted ``issuers``, each with its own ``audiences`` (and
optionally a ``jwks_uri``, else OIDC discovery), ``allowed_algorithms`` (default ``RS256``; never
``none``), ``required_claims``, and per-method ``authorization_scopes`` on the routes.

1. token from the identity source (default ``method.request.header.Authorization``), one leading
   ``Bearer `` stripped; missing → 401;
2. the token's ``iss`` selects the issuer entry (exact string match; the keys used are that issuer's
   own, RFC 8725 §3.8); unknown issuer → 401;
3. signature with the key's one algorithm (which must be an allowed algorithm), ``aud`` in that
   issuer's audiences (else ``client_id``), ``exp``/``nbf``/``iat``;
4. ``required_claims``: a list of names that must be present, or a map name → value (the claim
   equals the value, or, when the claim is a list, contains it; a list of values is any-of);
5. scopes any-of, as HTTP APIs.

Failures → 401 gateway response ``UNAUTHORIZED`` (``{"message":"Unauthorized"}``, customisable) with
the same ``www-authenticate`` header as HTTP APIs; scope miss → 403 ``{"message":"Forbidden"}``.
AWS's exact REST JWT failure bodies were not readable in our sources: UNVERIFIED, see
docs/authorizers.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gatehold.gateway.authorizers.identity import IdentitySource, resolve
from gatehold.gateway.authorizers.jwt_http import bearer_token, check_scopes, invalid_token_header
from gatehold.gateway.authorizers.outcomes import unauthorized
from gatehold.gateway.model import AuthorizerOutcome, DecisionTrace, GatewayRequest, RouteMatch
from gatehold.jose import InvalidClaims, JoseError, JwtVerifier, parse_compact
from gatehold.jose.cache import token_digest


def check_required_claims(
    claims: Mapping[str, Any], required: Mapping[str, Any] | Sequence[str] | None
) -> None:
    if not required:
        return
    if isinstance(required, Mapping):
        for name, expected in required.items():
            actual = claims.get(name)
            wanted = expected if isinstance(expected, list) else [expected]
            ok = any(actual == w or (isinstance(actual, list) and w in actual) for w in wanted)
            if not ok:
                raise InvalidClaims(name, f"the token's {name} claim does not have a required value")
        return
    for name in required:
        if claims.get(name) is None:
            raise InvalidClaims(name, f"the token does not have the required claim {name}")


class RestJwtAuthorizer:
    def __init__(
        self,
        *,
        name: str,
        identity_source: IdentitySource,
        verifiers: Mapping[str, JwtVerifier],
        required_claims: Mapping[str, Any] | Sequence[str] | None,
        account_id: str,
    ) -> None:
        self.name = name
        self.identity_source = identity_source
        self.verifiers = dict(verifiers)
        self.required_claims = required_claims
        self.account_id = account_id

    def _cached(self, token: str) -> dict[str, Any] | None:
        """A token verified before, by whichever issuer's verifier (one digest, no parsing)."""
        digest = token_digest(token)
        for verifier in self.verifiers.values():
            claims = verifier.cached(digest, verifier.clock())
            if claims is not None:
                return claims
        return None

    async def authorize(
        self, request: GatewayRequest, match: RouteMatch, trace: DecisionTrace
    ) -> AuthorizerOutcome:
        base: dict[str, Any] = {"authorizer": self.name, "type": "JWT"}
        values, missing = resolve(
            (self.identity_source,), request, match, account_id=self.account_id, join_repeats=False
        )
        if missing is not None:
            trace.add("authorizer", "unauthorized", **base, check="identity", missing=missing)
            raise unauthorized(
                f"identity source {missing} is missing or empty", {"www-authenticate": "Bearer"}
            )
        token = bearer_token(values[0])
        claims = self._cached(token)
        hit = claims is not None
        try:
            if claims is None:
                jws = parse_compact(token)
                iss = jws.claims.get("iss")
                verifier = self.verifiers.get(iss) if isinstance(iss, str) else None
                if verifier is None:
                    raise InvalidClaims("iss", "the token does not have a valid issuer")
                base["issuer"] = iss
                claims, _ = await verifier.verify(token, jws)
            check_required_claims(claims, self.required_claims)
        except JoseError as exc:
            trace.add("authorizer", "unauthorized", **base, check=exc.check, error=exc.description)
            # the time the claims were checked against, for gatehold explain
            trace.note(now=next(iter(self.verifiers.values())).clock() if self.verifiers else None)
            raise unauthorized(exc.description, invalid_token_header(exc.description)) from None
        base["cache"] = "hit" if hit else "miss"
        scopes = check_scopes(claims, match.route.config.authorization_scopes, base, trace)
        trace.add("authorizer", "allow", **base, sub=str(claims.get("sub")))
        return AuthorizerOutcome(kind="jwt", claims=claims, scopes=scopes, claims_json=True)
