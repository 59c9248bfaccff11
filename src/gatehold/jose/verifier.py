"""Token in, verified claims out: parse → key by ``kid`` → one-algorithm signature → claims.

:func:`verify_jws` is the pure core (token, key, expectations, now); :class:`JwtVerifier` adds
the key source (a JWKS cache or static keys) and the verified-token cache — the fast path: a token
seen before costs one digest and one dictionary lookup.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from gatehold.jose.cache import DEFAULT_MAX_ENTRIES, VerifiedToken, VerifiedTokenCache, token_digest
from gatehold.jose.claims import ClaimsExpectations, validate_claims
from gatehold.jose.errors import AlgorithmNotAllowed, InvalidSignature, UnknownKey
from gatehold.jose.jws import CompactJws, parse_compact
from gatehold.jose.keys import VerificationKey


class KeySource(Protocol):
    """Where keys come from. ``generation`` changes whenever the set of keys changes."""

    @property
    def generation(self) -> int: ...

    def cached_key(self, kid: str | None) -> VerificationKey | None:
        """The key without IO, when the source holds it and is fresh."""
        ...

    async def key(self, kid: str | None) -> VerificationKey:
        """The key, fetching if needed; raises :class:`UnknownKey`."""
        ...


class StaticKeys:
    """Keys from local configuration. A token without ``kid`` uses the only key, if there is one."""

    generation = 0

    def __init__(self, keys: Iterable[VerificationKey]) -> None:
        self._keys = list(keys)
        self._by_kid = {k.kid: k for k in self._keys if k.kid is not None}

    def cached_key(self, kid: str | None) -> VerificationKey | None:
        if kid is None:
            return self._keys[0] if len(self._keys) == 1 else None
        return self._by_kid.get(kid)

    async def key(self, kid: str | None) -> VerificationKey:
        key = self.cached_key(kid)
        if key is None:
            raise UnknownKey("the token's signing key is unknown")
        return key


_PRINTABLE_ALG = re.compile(r"[A-Za-z0-9]{1,16}")


def check_signature(jws: CompactJws, key: VerificationKey) -> None:
    """RFC 8725 §3.1: the header's ``alg`` must equal the key's one algorithm; then verify.

    The description echoes ``alg`` only when it is a plain algorithm name: it ends up in a
    ``www-authenticate`` header, where quotes or CR/LF from a token must never appear.
    """
    if jws.alg != key.alg:
        shown = jws.alg if _PRINTABLE_ALG.fullmatch(jws.alg) else "in the token"
        raise AlgorithmNotAllowed(f"signing method {shown} is invalid")
    if not key.verify(jws.signing_input, jws.signature):
        raise InvalidSignature("the token has an invalid signature")


def verify_jws(jws: CompactJws, key: VerificationKey, expected: ClaimsExpectations, now: float) -> float:
    """Signature then claims; returns the cache expiry. Pure."""
    check_signature(jws, key)
    return validate_claims(jws.claims, expected, now)


class JwtVerifier:
    def __init__(
        self,
        keys: KeySource,
        expected: ClaimsExpectations,
        *,
        clock: Callable[[], float] = time.time,
        cache_size: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        self.keys = keys
        self.expected = expected
        self.clock = clock
        self.cache = VerifiedTokenCache(cache_size)

    def verify_cached(self, token: str) -> tuple[dict[str, Any] | None, bytes, float]:
        """``(claims or None, digest, now)``: the verified-token cache alone, synchronous."""
        now = self.clock()
        digest = token_digest(token)
        return self.cache.get(digest, now, self.keys.generation), digest, now

    def cached(self, digest: bytes, now: float) -> dict[str, Any] | None:
        return self.cache.get(digest, now, self.keys.generation)

    def cached_entry(self, digest: bytes, now: float) -> VerifiedToken | None:
        """The verified-token cache's live entry for ``digest`` (claims and per-token ``derived``
        data), or None: the HTTP JWT authorizer's hit path, synchronous."""
        return self.cache.entry(digest, now, self.keys.generation)

    async def verify(self, token: str, jws: CompactJws | None = None) -> tuple[dict[str, Any], bool]:
        """``(claims, cache_hit)``; raises a :class:`~gatehold.jose.errors.JoseError`."""
        claims, digest, now = self.verify_cached(token)
        if claims is not None:
            return claims, True
        return await self.verify_uncached(token, digest, now, jws), False

    async def verify_uncached(
        self, token: str, digest: bytes, now: float, jws: CompactJws | None = None
    ) -> dict[str, Any]:
        """The slow half of :meth:`verify`, after :meth:`verify_cached` missed (callers on the hot
        path check the cache synchronously and only create a coroutine on a miss)."""
        return (await self.verify_uncached_entry(token, digest, now, jws)).claims

    async def verify_uncached_entry(
        self, token: str, digest: bytes, now: float, jws: CompactJws | None = None
    ) -> VerifiedToken:
        """:meth:`verify_uncached`, returning the new cache entry (a detached one when the cache is
        disabled) so that the caller can attach its per-token ``derived`` data."""
        if jws is None:
            jws = parse_compact(token)
        kid = jws.header.get("kid")
        key = self.keys.cached_key(kid)
        if key is None:
            key = await self.keys.key(kid)
        check_signature(jws, key)
        expires_at = validate_claims(jws.claims, self.expected, now)
        entry = self.cache.put(digest, expires_at, jws.claims, self.keys.generation)
        return entry if entry is not None else VerifiedToken(expires_at, jws.claims)

    def verify_sync(self, token: str) -> dict[str, Any]:
        """The same with keys already held (no IO): for benchmarks and synchronous callers.

        Written flat (no helper calls on the way): this is the path the micro-benchmark measures.
        """
        now = self.clock()
        digest = token_digest(token)
        keys = self.keys
        generation = keys.generation
        claims = self.cache.get(digest, now, generation)
        if claims is not None:
            return claims
        jws = parse_compact(token)
        key = keys.cached_key(jws.header.get("kid"))
        if key is None:
            raise UnknownKey("the token's signing key is unknown")
        check_signature(jws, key)
        expires_at = validate_claims(jws.claims, self.expected, now)
        self.cache.put(digest, expires_at, jws.claims, generation)
        return jws.claims
