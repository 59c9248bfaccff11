"""RSA signing keys: generated once, persisted in the store, parsed once and cached.

Lifecycle of a key (``KeyRow.state``)::

    next ──rotate──► current ──rotate──► previous ──rotate──► dropped

* ``current`` signs every RS256 token (``kid`` in the header, always).
* ``next`` is already published in the JWKS, so verifiers that cache the key set (PyJWT's
  ``PyJWKClient`` for 300 s, jwks-rsa, the gateway) know it *before* it signs anything.
* ``previous`` stays published after a rotation so tokens it signed keep verifying until they
  expire; the rotation after that drops it.

Loading a PEM private key costs ~43 ms, so key objects are built once per key and reused for every
signature. A running server notices a rotation made by ``gatehold keys rotate`` (another process) by
re-reading the small key table at most every ``reload_interval`` seconds; with ``gatehold up
--redis-url`` a rotation is also announced (:attr:`KeyRing.announce`, :mod:`gatehold.redis_state`) and
every identity-provider process reloads at once (:meth:`KeyRing.reload`).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pybase64
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gatehold import clock as shared_clock
from gatehold.idp.store import KeyRow, Store, StoreUnavailable

KEY_SIZE = 2048
STATES_PUBLISHED = ("next", "current", "previous")


def b64url(data: bytes) -> bytes:
    """Unpadded base64url (RFC 7515 §2), with pybase64's SIMD encoder: a token encodes ≈ 600 bytes
    (payload and signature), about a quarter of the cost of ``binascii`` plus ``bytes.translate``."""
    return pybase64.b64encode(data, altchars=b"-_").rstrip(b"=")


def _b64uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return b64url(raw).decode()


def jws_header(kid: str) -> bytes:
    """The RS256 protected header segment, byte for byte what ``jwt.encode(..., headers={"kid": kid})``
    writes (keys sorted, no spaces): built once per key instead of once per token."""
    header = {"alg": "RS256", "kid": kid, "typ": "JWT"}
    return b64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


@dataclass(frozen=True)
class SigningKey:
    kid: str
    state: str
    private_key: rsa.RSAPrivateKey
    public_key: rsa.RSAPublicKey
    jwk: dict[str, str]
    jws_header: bytes

    @classmethod
    def from_row(cls, row: KeyRow) -> SigningKey:
        key = serialization.load_pem_private_key(row.private_pem.encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"signing key {row.kid} is not an RSA key")
        public = key.public_key()
        numbers = public.public_numbers()
        jwk = {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": row.kid,
            "n": _b64uint(numbers.n),
            "e": _b64uint(numbers.e),
        }
        return cls(
            kid=row.kid,
            state=row.state,
            private_key=key,
            public_key=public,
            jwk=jwk,
            jws_header=jws_header(row.kid),
        )


def new_key_row(state: str, now: int) -> KeyRow:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return KeyRow(kid=secrets.token_urlsafe(16), private_pem=pem, state=state, created_at=now)


def normalise(rows: list[KeyRow]) -> dict[str, str]:
    """State fixes that leave exactly one key per state: the oldest wins (deterministic, so every
    racing process computes the same answer); the losers never signed anything and are dropped."""
    fixes: dict[str, str] = {}
    for state in STATES_PUBLISHED:
        same = sorted((r for r in rows if r.state == state), key=lambda r: (r.created_at, r.kid))
        for loser in same[1:]:
            fixes[loser.kid] = "drop"
    return fixes


class KeyRing:
    """The published key set and the current signing key, cached as key objects."""

    def __init__(self, store: Store, *, reload_interval: float = 5.0) -> None:
        self.store = store
        self.reload_interval = reload_interval
        self._lock = threading.Lock()
        self._by_kid: dict[str, SigningKey] = {}
        self._current: SigningKey | None = None
        self._jwks: dict[str, Any] = {"keys": []}
        self._fingerprint: tuple[tuple[str, str], ...] = ()
        self._checked_at = 0.0
        #: called after :meth:`rotate` with the ``kid`` values published now and the signing one
        #: (gatehold up --redis-url: the rotation is announced to every process and replica)
        self.announce: Callable[[list[str], str], None] | None = None

    # -- loading -------------------------------------------------------------------------------

    def load(self) -> None:
        """Create the first keys if the store has none, then (re)build the cache."""
        rows = self.store.signing_keys()
        if not any(r.state == "current" for r in rows):
            now = int(shared_clock.wall())
            new = [new_key_row("current", now)]
            if not any(r.state == "next" for r in rows):
                new.append(new_key_row("next", now))
            self.store.replace_key_states({}, new)
            rows = self.store.signing_keys()
        fixes = normalise(rows)
        if fixes:  # several processes created first keys at the same moment
            self.store.replace_key_states(fixes)
            rows = self.store.signing_keys()
        self._install(rows)

    def _install(self, rows: list[KeyRow]) -> None:
        fingerprint = tuple((r.kid, r.state) for r in rows)
        with self._lock:
            self._checked_at = time.monotonic()
            if fingerprint == self._fingerprint:
                return
            by_kid: dict[str, SigningKey] = {}
            for row in rows:
                if row.state not in STATES_PUBLISHED:
                    continue
                cached = self._by_kid.get(row.kid)
                if cached is not None and cached.state == row.state:
                    by_kid[row.kid] = cached
                elif cached is not None:
                    by_kid[row.kid] = replace(cached, state=row.state)
                else:
                    by_kid[row.kid] = SigningKey.from_row(row)
            current = [k for k in by_kid.values() if k.state == "current"]
            if len(current) != 1:
                raise RuntimeError(f"the key store has {len(current)} current signing keys; expected 1")
            order = {"current": 0, "next": 1, "previous": 2}
            published = sorted(by_kid.values(), key=lambda k: order[k.state])
            self._by_kid = by_kid
            self._current = current[0]
            self._jwks = {"keys": [k.jwk for k in published]}
            self._fingerprint = fingerprint

    def reload(self) -> None:
        """Read the key table now (a rotation was announced)."""
        self._install(self.store.signing_keys())

    def published_kids(self) -> list[str]:
        return [k["kid"] for k in self._jwks["keys"]]

    def refresh_if_stale(self) -> None:
        """Pick up a rotation done by another process (cheap: one small SELECT every few seconds).
        Real seconds, not the stack's clock (gatehold.clock): a frozen test clock must not stop it."""
        if time.monotonic() - self._checked_at >= self.reload_interval:
            try:
                rows = self.store.signing_keys()
            except StoreUnavailable:  # the database is down: sign with the keys held, look again later
                self._checked_at = time.monotonic()
                return
            self._install(rows)

    # -- use -----------------------------------------------------------------------------------

    @property
    def current(self) -> SigningKey:
        if self._current is None:
            raise RuntimeError("KeyRing.load() was not called")
        return self._current

    def get(self, kid: str) -> SigningKey | None:
        return self._by_kid.get(kid)

    def jwks(self) -> dict[str, Any]:
        return self._jwks

    def rotate(self) -> SigningKey:
        """next → current, current → previous, previous dropped, a fresh next published."""
        rows = self.store.signing_keys()
        now = int(shared_clock.wall())
        states: dict[str, str] = {}
        new: list[KeyRow] = []
        nxt = [r for r in rows if r.state == "next"]
        for r in rows:
            if r.state == "previous":
                states[r.kid] = "drop"
            elif r.state == "current":
                states[r.kid] = "previous"
        if nxt:
            states[nxt[0].kid] = "current"
        else:
            new.append(new_key_row("current", now))
        new.append(new_key_row("next", now + 1))
        self.store.replace_key_states(states, new)
        self._install(self.store.signing_keys())
        if self.announce is not None:
            self.announce(self.published_kids(), self.current.kid)
        return self.current
