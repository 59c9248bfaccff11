"""JWKS fetching and caching per issuer (OpenID Connect Discovery 1.0 §4, RFC 7517 §5).

As API Gateway does (docs/aws-reference.md §3.1, §3.4):

* discovery: ``{issuer}/.well-known/openid-configuration`` → ``jwks_uri`` (unless configured), the
  document's ``issuer`` must equal the configured one (OIDC Discovery §4.3);
* limits: 1500 ms per request (whole exchange), responses over 150000 bytes refused, no redirects;
* the key set is cached for ``ttl`` seconds; a token whose ``kid`` is unknown triggers a refetch, at
  most once per ``min_refetch_interval`` (so a flood of random ``kid`` values cannot hammer the IdP),
  unless ``refetch_on_unknown_kid`` is off (``gateway.jwks_refetch: ttl-only``): then a key rotated
  in is unknown until the cached set is ``ttl`` old, as users report of HTTP APIs;
* a malformed key is skipped (logged), the others stay usable;
* an unreachable or broken endpoint keeps the previously fetched keys working; with no key, the
  token is refused (401), never a 500.

With ``gatehold up --redis-url`` a rotation announced by the identity provider makes every gateway
process fetch at once (:meth:`JwksKeySource.follow_rotation`), whatever the TTL.

Only members of the fetched key set are ever used: a token's ``jku``/``x5u``/``jwk`` are refused at
parse time and never reach this module, so no URL is ever taken from a token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import orjson

from gatehold import metrics
from gatehold.jose.errors import UnknownKey
from gatehold.jose.keys import EcKey, RsaKey, key_from_jwk

log = logging.getLogger("gatehold.jose.jwks")

FETCH_TIMEOUT_S = 1.5
MAX_RESPONSE_BYTES = 150_000


class FetchError(Exception):
    pass


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def parse_jwks(
    document: Any, allowed_algorithms: Sequence[str]
) -> tuple[dict[str, RsaKey | EcKey], list[str]]:
    """Usable keys by ``kid`` and a note per skipped key. Keys without ``kid`` are skipped (API
    Gateway matches the token's ``kid``); a repeated ``kid`` keeps the first key."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise FetchError("the JWKS document has no 'keys' array")
    keys: dict[str, RsaKey | EcKey] = {}
    skipped: list[str] = []
    for i, jwk in enumerate(document["keys"]):
        try:
            key = key_from_jwk(jwk, allowed_algorithms)
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            skipped.append(f"keys[{i}]: {exc}")
            continue
        if key.kid is None:
            skipped.append(f"keys[{i}]: no kid")
        elif key.kid in keys:
            skipped.append(f"keys[{i}]: repeated kid {key.kid!r}")
        else:
            keys[key.kid] = key
    return keys, skipped


class JwksKeySource:
    """The signing keys of one issuer, fetched over HTTP and cached (a :class:`KeySource`)."""

    def __init__(
        self,
        http_client: httpx.AsyncClient,
        *,
        issuer: str,
        allowed_algorithms: Sequence[str],
        jwks_uri: str | None = None,
        ttl: float = 3600.0,
        min_refetch_interval: float = 10.0,
        refetch_on_unknown_kid: bool = True,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = FETCH_TIMEOUT_S,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.http = http_client
        self.issuer = issuer
        self.allowed_algorithms = tuple(allowed_algorithms)
        self.configured_jwks_uri = jwks_uri
        self.jwks_uri = jwks_uri
        self.ttl = ttl
        self.min_refetch_interval = min_refetch_interval
        self.refetch_on_unknown_kid = refetch_on_unknown_kid
        self.clock = clock
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.generation = 0
        self.fetch_count = 0
        self.last_error: str | None = None
        self._keys: dict[str, RsaKey | EcKey] = {}
        self._fingerprint: frozenset[bytes] = frozenset()
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock: asyncio.Lock | None = None

    # -- the KeySource protocol ---------------------------------------------------------------

    def cached_key(self, kid: str | None) -> RsaKey | EcKey | None:
        if kid is None or self._fetched_at is None or self.clock() - self._fetched_at >= self.ttl:
            return None
        return self._keys.get(kid)

    async def key(self, kid: str | None) -> RsaKey | EcKey:
        if kid is None:
            raise UnknownKey("the token has no key id")
        now = self.clock()
        if (self._fetched_at is None or now - self._fetched_at >= self.ttl) and self._may_attempt(now):
            await self.refresh()
        key = self._keys.get(kid)
        if key is None and self.refetch_on_unknown_kid and self._may_attempt(self.clock()):
            await self.refresh()  # unknown kid: the issuer may have rotated its keys
            key = self._keys.get(kid)
        if key is None:
            raise UnknownKey("the token's signing key is unknown")
        return key

    # -- a rotation announced (gatehold up --redis-url) ---------------------------------------

    def kids(self) -> frozenset[str]:
        """The ``kid`` values of the keys held now."""
        return frozenset(self._keys)

    async def follow_rotation(
        self, kids: Sequence[str] = (), *, attempts: int = 10, pause: float = 0.1
    ) -> bool:
        """The issuer announced a rotation: drop every token verified so far (the generation
        changes) and fetch the key set now, whatever ``min_refetch_interval`` says, until it holds
        ``kids`` (the issuer's processes may still be reloading: up to ``attempts`` fetches,
        ``pause`` apart). Whether the key set holds them."""
        self.generation += 1
        wanted = set(kids)
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(pause)
            self._attempted_at = None  # not a flood of unknown kids: the issuer said so
            if await self.refresh() and wanted <= set(self._keys):
                return True
        return False

    # -- fetching ---------------------------------------------------------------------------------

    def _may_attempt(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self.min_refetch_interval

    async def refresh(self) -> bool:
        """Fetch the key set now; ``False`` (and the old keys kept) when that fails."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        started = self._attempted_at
        async with self._lock:
            if self._attempted_at != started:
                return self.last_error is None  # another request fetched while we waited
            self._attempted_at = self.clock()
            try:
                keys, skipped = await self._fetch()
            except Exception as exc:  # any failure keeps the old keys: a token is refused, never a 500
                metrics.jwks_refresh(self.jwks_uri or discovery_url(self.issuer), ok=False)
                self.last_error = f"{type(exc).__name__}: {exc}"
                if self.configured_jwks_uri is None:
                    self.jwks_uri = None  # rediscover next time
                log.warning(
                    "JWKS fetch for issuer %s failed (%s); keeping %d cached keys",
                    self.issuer,
                    self.last_error,
                    len(self._keys),
                )
                return False
            for note in skipped:
                log.warning("JWKS of issuer %s: skipped %s", self.issuer, note)
            metrics.jwks_refresh(self.jwks_uri or discovery_url(self.issuer), ok=True)
            self.last_error = None
            self._fetched_at = self.clock()
            fingerprint = frozenset(k.fingerprint for k in keys.values())
            if fingerprint != self._fingerprint:
                self._keys, self._fingerprint = keys, fingerprint
                self.generation += 1
            return True

    async def _fetch(self) -> tuple[dict[str, RsaKey | EcKey], list[str]]:
        async with asyncio.timeout(self.timeout * 2):
            if self.jwks_uri is None:
                discovery = await self._get_json(discovery_url(self.issuer))
                if not isinstance(discovery, dict) or discovery.get("issuer") != self.issuer:
                    raise FetchError("the discovery document's issuer differs from the configured issuer")
                uri = discovery.get("jwks_uri")
                if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
                    raise FetchError("the discovery document has no jwks_uri")
                self.jwks_uri = uri
            document = await self._get_json(self.jwks_uri)
        return parse_jwks(document, self.allowed_algorithms)

    async def _get_json(self, url: str) -> Any:
        self.fetch_count += 1
        async with asyncio.timeout(self.timeout):
            async with self.http.stream(
                "GET",
                url,
                headers={"accept": "application/json"},
                follow_redirects=False,
                timeout=self.timeout,
            ) as response:
                if response.status_code != 200:
                    raise FetchError(f"GET {url} answered {response.status_code}")
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
                    raise FetchError(f"GET {url} is larger than {self.max_bytes} bytes")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise FetchError(f"GET {url} is larger than {self.max_bytes} bytes")
        return orjson.loads(body)
