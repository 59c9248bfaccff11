"""Strict base64url (RFC 7515 §2, RFC 4648 §5): the alphabet only, no padding, canonical last char.

The alphabet check runs at C speed: ``segment.translate(None, ALPHABET)`` deletes every legal
character, so anything left over is junk. (Measured on this machine, a precompiled
``re.fullmatch(rb"[A-Za-z0-9_-]+")`` costs ~3 µs on a 700-byte token — Python's regex engine walks
byte by byte — while the translate check costs ~0.1-0.4 µs; both accept exactly the same inputs,
see tests/jose/test_jws.py.) Decoding is ``binascii``. Junk after a segment (``sig!!!!``,
whitespace, ``=`` padding, the standard alphabet's ``+``/``/``) and non-canonical encodings (unused
trailing bits set, so two spellings of the same bytes) are refused, closing PyJWT's
GHSA-hxm8-2xgr-2p9m class.
"""

from __future__ import annotations

import binascii
import re

ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
COMPACT_ALPHABET = ALPHABET + b"."  # a whole compact JWS: segments and their separators
SEGMENT_RE = re.compile(rb"[A-Za-z0-9_-]+")  # the reference definition; the fast check is equivalent
_TO_STD = bytes.maketrans(b"-_", b"+/")
_TO_URL = bytes.maketrans(b"+/", b"-_")
# The last character of a 2- or 3-character final group may only carry zero trailing bits.
_CANONICAL_LAST = {2: frozenset(b"AQgw"), 3: frozenset(b"AEIMQUYcgkosw048")}
_PAD = {2: b"==", 3: b"="}


def is_base64url(segment: bytes) -> bool:
    """Non-empty and only ``[A-Za-z0-9_-]`` (same answer as ``SEGMENT_RE.fullmatch``)."""
    return bool(segment) and not segment.translate(None, ALPHABET)


def b64url_decode(segment: bytes) -> bytes:
    """Decode one unpadded base64url segment; ``ValueError`` for anything not canonical.

    >>> b64url_decode(b"eyJhIjoxfQ")
    b'{"a":1}'
    """
    if not segment or segment.translate(None, ALPHABET):
        raise ValueError("not base64url")
    return decode_known_alphabet(segment)


def decode_known_alphabet(segment: bytes) -> bytes:
    """:func:`b64url_decode` for a segment whose alphabet the caller already checked (non-empty,
    ``[A-Za-z0-9_-]`` only): the length and canonical-last-character checks still apply."""
    rem = len(segment) % 4
    if rem:
        if rem == 1 or segment[-1] not in _CANONICAL_LAST[rem]:
            raise ValueError("not canonical base64url")
        segment = segment + _PAD[rem]
    return binascii.a2b_base64(segment.translate(_TO_STD))


def b64url_encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_TO_URL).rstrip(b"=").decode()
