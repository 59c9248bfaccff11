"""Pure claim checks (RFC 7519 §4.1) with an explicit ``now`` and leeway, in API Gateway's order.

API Gateway's HTTP JWT authorizer checks, after ``kid`` and the signature: ``iss`` (exact string
equality), ``aud`` — or ``client_id`` only when ``aud`` is absent — against the configured audiences,
``exp`` after now, ``nbf`` and ``iat`` before now (docs/aws-reference.md §3.1). ``exp`` is required:
a token that never expires is refused (and could never leave the verified-token cache).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from gatehold.jose.errors import InvalidClaims


@dataclass(frozen=True, slots=True)
class ClaimsExpectations:
    issuer: str | None
    audiences: frozenset[str] | None
    client_id_fallback: bool = True
    leeway: float = 0.0


def _numeric(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidClaims(name, f"the token's {name} claim is not a number")
    return float(value)


def audience_matches(aud: Any, audiences: Collection[str]) -> bool:
    """``aud`` (RFC 7519 §4.1.3: a string or an array of strings) names one of ``audiences``."""
    if type(aud) is str:
        return aud in audiences
    if type(aud) is list:
        for item in aud:  # a plain loop: a generator costs ~0.5 µs here
            if type(item) is str and item in audiences:
                return True
    return False


def validate_claims(claims: Mapping[str, Any], expected: ClaimsExpectations, now: float) -> float:
    """Check ``claims``; return the expiry (``exp``) on success, raise :class:`InvalidClaims`."""
    # exact equality: a prefix, a longer string or a list never equals the configured issuer
    if expected.issuer is not None and claims.get("iss") != expected.issuer:
        raise InvalidClaims("iss", "the token does not have a valid issuer")
    if expected.audiences is not None:
        aud = claims.get("aud")
        if aud is None and expected.client_id_fallback:
            aud = claims.get("client_id")
        if not audience_matches(aud, expected.audiences):
            raise InvalidClaims("aud", "the token does not have a valid audience")
    leeway = expected.leeway
    exp = claims.get("exp")
    if exp is None:
        raise InvalidClaims("exp", "the token has no expiration time")
    if type(exp) is not int and type(exp) is not float:  # bool is an int subclass: refused too
        exp = _numeric(claims, "exp")
        assert exp is not None
    if now >= exp + leeway:
        raise InvalidClaims("exp", "the token has expired")
    if "nbf" in claims:
        nbf = _numeric(claims, "nbf")
        if nbf is not None and nbf > now + leeway:
            raise InvalidClaims("nbf", "the token is not valid yet")
    if "iat" in claims:
        iat = _numeric(claims, "iat")
        if iat is not None and iat > now + leeway:
            raise InvalidClaims("iat", "the token was issued in the future")
    return exp + leeway


def token_scopes(claims: Mapping[str, Any]) -> list[str]:
    """The token's scopes: ``scope`` (space-separated, RFC 6749 §3.3) and ``scp`` (string or list)."""
    scopes: list[str] = []
    scope = claims.get("scope")
    if isinstance(scope, str):
        scopes.extend(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, str):
        scopes.extend(scp.split())
    elif isinstance(scp, list):
        scopes.extend(s for s in scp if isinstance(s, str))
    return scopes
