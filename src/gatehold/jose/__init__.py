"""JOSE: strict, fast JWT verification with typed keys, and JWKS caching.

::

    parse_compact(token)            → CompactJws            (jws.py: strict, bounded, no key yet)
    key_from_jwk(jwk, allowed)      → RsaKey | EcKey        (keys.py: one algorithm per key)
    verify_jws(jws, key, exp, now)  → expiry                (verifier.py: pure signature + claims)
    JwtVerifier(keys, exp).verify   → (claims, cache_hit)   (verifier.py: + key source + token cache)
    JwksKeySource(http, issuer=…)   → a KeySource           (jwks.py: discovery, TTL, kid refetch)
"""

from gatehold.jose.claims import ClaimsExpectations, token_scopes, validate_claims
from gatehold.jose.errors import (
    AlgorithmNotAllowed,
    InvalidClaims,
    InvalidSignature,
    JoseError,
    MalformedToken,
    UnknownKey,
    UnsupportedHeader,
)
from gatehold.jose.jwks import JwksKeySource, parse_jwks
from gatehold.jose.jws import CompactJws, parse_compact
from gatehold.jose.keys import EcKey, HmacKey, RsaKey, VerificationKey, key_from_jwk
from gatehold.jose.verifier import JwtVerifier, KeySource, StaticKeys, check_signature, verify_jws

__all__ = [
    "AlgorithmNotAllowed",
    "ClaimsExpectations",
    "CompactJws",
    "EcKey",
    "HmacKey",
    "InvalidClaims",
    "InvalidSignature",
    "JoseError",
    "JwksKeySource",
    "JwtVerifier",
    "KeySource",
    "MalformedToken",
    "RsaKey",
    "StaticKeys",
    "UnknownKey",
    "UnsupportedHeader",
    "VerificationKey",
    "check_signature",
    "key_from_jwk",
    "parse_compact",
    "parse_jwks",
    "token_scopes",
    "validate_claims",
    "verify_jws",
]
