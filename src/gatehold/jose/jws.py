"""Compact JWS parsing (RFC 7515 §7.1), strict and bounded, before any key is touched.

* Size caps first: a token longer than :data:`MAX_TOKEN_LENGTH` or a header segment longer than
  :data:`MAX_HEADER_LENGTH` is refused before decoding (Authlib CVE-2025-61920 class).
* Exactly three non-empty segments, each strict canonical base64url (:mod:`gatehold.jose.b64`):
  a null signature (``h.p.``), junk after a segment and JWE's five segments are all refused.
* Header and payload are JSON objects parsed by orjson (which rejects invalid UTF-8, RFC 8725 §3.7).
* ``alg`` must be a string and never ``none`` in any casing (RFC 8725 §3.2); it is *compared* with
  the key's one algorithm later, never used to choose one.
* ``crit`` (RFC 7515 §4.1.11): we understand no extension, so any ``crit`` is refused.
* ``jku``, ``x5u`` and ``jwk`` (RFC 8725 §3.10): the token may not name or carry its own key. Such
  tokens are refused outright — nothing reads those members, so no request is ever made for them.
* ``kid`` must be a string; it is only ever a dictionary key.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from gatehold.jose.b64 import COMPACT_ALPHABET, b64url_decode, decode_known_alphabet
from gatehold.jose.errors import AlgorithmNotAllowed, MalformedToken, UnsupportedHeader

MAX_TOKEN_LENGTH = 16 * 1024
MAX_HEADER_LENGTH = 2048
REFUSED_HEADERS = ("jku", "x5u", "jwk")
HEADER_CACHE_SIZE = 256

# Validated headers by their exact base64url text: an issuer's tokens share one header
# (``{"alg":"RS256","typ":"JWT","kid":"…"}``), so decoding and checking it once saves ~1-2 µs per
# token. Only headers that passed every check are stored; the cache is cleared when full.
_headers: dict[bytes, dict[str, Any]] = {}


class CompactJws(NamedTuple):
    """A parsed compact JWS (a NamedTuple: cheaper to build than a frozen dataclass, ~1 µs)."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def alg(self) -> str:
        alg: str = self.header["alg"]
        return alg

    @property
    def kid(self) -> str | None:
        return self.header.get("kid")


def _json_object(segment: bytes, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(b64url_decode(segment))
    except ValueError:  # binascii.Error and orjson.JSONDecodeError are ValueErrors
        raise MalformedToken(f"the token's {what} is not valid base64url JSON") from None
    if not isinstance(value, dict):
        raise MalformedToken(f"the token's {what} is not a JSON object")
    return value


def _parse_header(segment: bytes) -> dict[str, Any]:
    if len(segment) > MAX_HEADER_LENGTH:
        raise MalformedToken("the token's header is too large")
    header = _json_object(segment, "header")
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise MalformedToken("the token's header has no alg")
    if alg.lower() == "none":
        raise AlgorithmNotAllowed("signing method none is invalid")
    if "crit" in header:
        raise UnsupportedHeader("the token has critical header parameters that are not understood")
    for name in REFUSED_HEADERS:
        if name in header:
            raise UnsupportedHeader(f"the token's {name} header parameter is not accepted")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise MalformedToken("the token's kid is not a string")
    return header


def parse_compact(token: str | bytes) -> CompactJws:
    """Split and decode a compact JWS; raises a :class:`~gatehold.jose.errors.JoseError`."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise MalformedToken("the token is too large")
    if isinstance(token, str):
        try:
            raw = token.encode("ascii")
        except UnicodeEncodeError:
            raise MalformedToken("the token contains non-ASCII characters") from None
    else:
        raw = token
    if raw.translate(None, COMPACT_ALPHABET):  # one C pass: junk anywhere in the token
        raise MalformedToken("the token contains characters outside base64url")
    parts = raw.split(b".")
    if len(parts) != 3:
        raise MalformedToken("the token is not a compact JWS (three segments)")
    head, body, sig = parts
    if not (head and body and sig):
        raise MalformedToken("the token has an empty segment (a null signature?)")
    header = _headers.get(head)
    if header is None:
        header = _parse_header(head)
        if len(_headers) >= HEADER_CACHE_SIZE:
            _headers.clear()
        _headers[head] = header
    try:
        claims = orjson.loads(decode_known_alphabet(body))
    except ValueError:
        raise MalformedToken("the token's payload is not valid base64url JSON") from None
    if type(claims) is not dict:
        raise MalformedToken("the token's payload is not a JSON object")
    try:
        signature = decode_known_alphabet(sig)
    except ValueError:
        raise MalformedToken("the token's signature is not valid base64url") from None
    return CompactJws(header, claims, raw[: len(head) + 1 + len(body)], signature)
