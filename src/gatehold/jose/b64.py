"""Strict base64url (RFC 7515 §2, RFC 4648 §5): the alphabet only, no padding, canonical last char.

The alphabet check is one precompiled ``re.fullmatch`` (C speed); decoding is ``binascii``. Junk after
a segment (``sig!!!!``, whitespace, ``=`` padding) and non-canonical encodings (unused trailing bits
set, so two spellings of the same bytes) are refused, closing PyJWT's GHSA-hxm8-2xgr-2p9m class.
"""

from __future__ import annotations

import binascii
import re

_ALPHABET = re.compile(rb"[A-Za-z0-9_-]+")
_TO_STD = bytes.maketrans(b"-_", b"+/")
_TO_URL = bytes.maketrans(b"+/", b"-_")
# The last character of a 2- or 3-character final group may only carry zero trailing bits.
_CANONICAL_LAST = {2: frozenset(b"AQgw"), 3: frozenset(b"AEIMQUYcgkosw048")}


def b64url_decode(segment: bytes) -> bytes:
    """Decode one unpadded base64url segment; ``ValueError`` for anything not canonical.

    >>> b64url_decode(b"eyJhIjoxfQ")
    b'{"a":1}'
    """
    if _ALPHABET.fullmatch(segment) is None:
        raise ValueError("not base64url")
    rem = len(segment) % 4
    if rem:
        if rem == 1 or segment[-1] not in _CANONICAL_LAST[rem]:
            raise ValueError("not canonical base64url")
        segment = segment + b"=" * (4 - rem)
    return binascii.a2b_base64(segment.translate(_TO_STD))


def b64url_encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_TO_URL).rstrip(b"=").decode()
