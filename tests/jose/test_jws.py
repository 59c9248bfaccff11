"""Strict compact-JWS parsing and base64url (RFC 7515 §7.1, RFC 8725 §3.2/§3.7/§3.10)."""

from __future__ import annotations

import pytest

from gatehold.jose import JoseError, MalformedToken, parse_compact
from gatehold.jose.b64 import b64url_decode
from gatehold.jose.errors import AlgorithmNotAllowed, UnsupportedHeader
from gatehold.jose.jws import MAX_TOKEN_LENGTH
from tests.jose.support import b64, segment

H = segment({"alg": "RS256", "kid": "k1"})
P = segment({"sub": "a", "exp": 1})
S = b64(b"\x01" * 256)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        pytest.param(b"eyJhIjoxfQ", True, id="plain"),
        pytest.param(b"QQ", True, id="two-chars-canonical"),
        pytest.param(b"QR", False, id="two-chars-trailing-bits"),
        pytest.param(b"QUE", True, id="three-chars-canonical"),
        pytest.param(b"QUF", False, id="three-chars-trailing-bits"),
        pytest.param(b"Q", False, id="one-char-remainder"),
        pytest.param(b"QQ==", False, id="padding"),
        pytest.param(b"QQ!!", False, id="junk"),
        pytest.param(b"Q Q", False, id="space"),
        pytest.param(b"QQ\n", False, id="newline"),
        pytest.param(b"a+b/", False, id="standard-alphabet"),
        pytest.param(b"", False, id="empty"),
    ],
)
def test_b64url_is_strict(text: bytes, ok: bool) -> None:
    if ok:
        b64url_decode(text)
    else:
        with pytest.raises(ValueError, match="base64url"):
            b64url_decode(text)


def test_parses_a_compact_jws() -> None:
    jws = parse_compact(f"{H}.{P}.{S}")
    assert jws.alg == "RS256"
    assert jws.kid == "k1"
    assert jws.claims == {"sub": "a", "exp": 1}
    assert jws.signing_input == f"{H}.{P}".encode()
    assert jws.signature == b"\x01" * 256


@pytest.mark.parametrize(
    ("token", "error"),
    [
        pytest.param(f"{H}.{P}.", MalformedToken, id="null-signature"),
        pytest.param(f"{H}.{P}", MalformedToken, id="two-segments"),
        pytest.param(f"{H}.{P}.{S}.{S}.{S}", MalformedToken, id="five-segments-jwe"),
        pytest.param(f"{H}.{P}.{S}!!!!", MalformedToken, id="junk-after-signature"),
        pytest.param(f"{H}.{P}.{S} ", MalformedToken, id="space-after-signature"),
        pytest.param(f"{H}=.{P}.{S}", MalformedToken, id="padded-header"),
        pytest.param(f"{H}.{P}\n.{S}", MalformedToken, id="newline-in-payload"),
        pytest.param(f"{H}.{P}.{S}é", MalformedToken, id="non-ascii"),
        pytest.param(f"{segment([1])}.{P}.{S}", MalformedToken, id="header-not-object"),
        pytest.param(f"{H}.{segment('x')}.{S}", MalformedToken, id="payload-not-object"),
        pytest.param(f"{H}.{b64(b'not json')}.{S}", MalformedToken, id="payload-not-json"),
        pytest.param(
            f"{H}.{b64(bytes([123, 34, 97, 34, 58, 34, 0xFF, 34, 125]))}.{S}",
            MalformedToken,
            id="payload-invalid-utf8",
        ),
        pytest.param(f"{segment({'kid': 'k1'})}.{P}.{S}", MalformedToken, id="no-alg"),
        pytest.param(f"{segment({'alg': 1})}.{P}.{S}", MalformedToken, id="alg-not-string"),
        pytest.param(f"{segment({'alg': 'RS256', 'kid': 7})}.{P}.{S}", MalformedToken, id="kid-not-string"),
        pytest.param(f"{segment({'alg': 'none'})}.{P}.", MalformedToken, id="none-null-signature"),
        pytest.param(f"{segment({'alg': 'none'})}.{P}.{S}", AlgorithmNotAllowed, id="alg-none"),
        pytest.param(f"{segment({'alg': 'None'})}.{P}.{S}", AlgorithmNotAllowed, id="alg-None"),
        pytest.param(f"{segment({'alg': 'NONE'})}.{P}.{S}", AlgorithmNotAllowed, id="alg-NONE"),
        pytest.param(f"{segment({'alg': 'nOnE'})}.{P}.{S}", AlgorithmNotAllowed, id="alg-nOnE"),
        pytest.param(f"{segment({'alg': 'RS256', 'crit': ['exp']})}.{P}.{S}", UnsupportedHeader, id="crit"),
        pytest.param(f"{segment({'alg': 'RS256', 'crit': []})}.{P}.{S}", UnsupportedHeader, id="crit-empty"),
        pytest.param(
            f"{segment({'alg': 'RS256', 'b64': False, 'crit': ['b64']})}.{P}.{S}",
            UnsupportedHeader,
            id="unencoded-payload",
        ),
        pytest.param(
            f"{segment({'alg': 'RS256', 'jku': 'http://127.0.0.1:1/k'})}.{P}.{S}", UnsupportedHeader, id="jku"
        ),
        pytest.param(
            f"{segment({'alg': 'RS256', 'x5u': 'http://127.0.0.1:1/c'})}.{P}.{S}", UnsupportedHeader, id="x5u"
        ),
        pytest.param(
            f"{segment({'alg': 'RS256', 'jwk': {'kty': 'RSA'}})}.{P}.{S}", UnsupportedHeader, id="jwk"
        ),
    ],
)
def test_refuses_malformed_and_hostile_shapes(token: str, error: type[JoseError]) -> None:
    with pytest.raises(error):
        parse_compact(token)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("a" * (MAX_TOKEN_LENGTH + 1), id="over-token-cap"),
        pytest.param(f"{segment({'alg': 'RS256', 'pad': 'x' * 3000})}.{P}.{S}", id="over-header-cap"),
        pytest.param("A" * 100_000_000, id="100MB"),
    ],
)
def test_oversized_tokens_are_refused_before_decoding(token: str) -> None:
    with pytest.raises(MalformedToken, match="too large"):
        parse_compact(token)


@pytest.mark.parametrize(
    "segment",
    [
        b"",
        b"a",
        b"abc-_",
        b"ab=",
        b"a b",
        b"a\n",
        b"a+/",
        b"\x00",
        b"\xff",
        b"a.b",
        b"!",
        "é".encode(),
        b"A" * 500,
    ],
)
def test_fast_alphabet_check_equals_the_regex(segment: bytes) -> None:
    from gatehold.jose.b64 import SEGMENT_RE, is_base64url

    assert is_base64url(segment) == (SEGMENT_RE.fullmatch(segment) is not None)
