"""Typed keys, one algorithm each (RFC 8725 §3.1), parsed from JWKs (RFC 7517/7518)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from gatehold.jose import HmacKey, key_from_jwk
from gatehold.jose.keys import EcKey, RsaKey
from tests.jose.support import b64, rsa_jwk

DATA = b"header.payload"


def ec_jwk(key: ec.EllipticCurvePrivateKey, alg: str | None = "ES256") -> dict[str, Any]:
    nums = key.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "kid": "e1",
        "crv": "P-256",
        "x": b64(nums.x.to_bytes(32, "big")),
        "y": b64(nums.y.to_bytes(32, "big")),
    }
    if alg:
        jwk["alg"] = alg
    return jwk


def test_es256_verifies_raw_r_s_and_refuses_psychic_signatures() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    key = key_from_jwk(ec_jwk(private), ("ES256",))
    assert isinstance(key, EcKey)
    r, s = decode_dss_signature(private.sign(DATA, ec.ECDSA(hashes.SHA256())))
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert key.verify(DATA, raw)
    assert not key.verify(DATA, b"\x00" * 64)  # CVE-2022-21449 "psychic signature"
    assert not key.verify(DATA, raw[:-1])
    assert not key.verify(DATA + b"x", raw)


@pytest.mark.parametrize(
    ("alg_in_jwk", "allowed", "bound"),
    [
        pytest.param("RS256", ("RS256",), "RS256", id="jwk-alg"),
        pytest.param(None, ("RS384", "RS256"), "RS384", id="first-allowed-rsa"),
        pytest.param(None, ("ES256", "PS256"), "PS256", id="family-of-key-type"),
        pytest.param("PS512", ("PS512",), "PS512", id="pss"),
    ],
)
def test_each_rsa_key_is_bound_to_one_algorithm(
    alg_in_jwk: str | None, allowed: tuple[str, ...], bound: str
) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = key_from_jwk(rsa_jwk(private.public_key(), "k", alg=alg_in_jwk), allowed)
    assert isinstance(key, RsaKey)
    assert key.alg == bound
    digest = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[bound[2:]]
    pad = (
        padding.PKCS1v15()
        if bound.startswith("RS")
        else padding.PSS(padding.MGF1(digest), padding.PSS.DIGEST_LENGTH)
    )
    assert key.verify(DATA, private.sign(DATA, pad, digest))


@pytest.mark.parametrize(
    ("jwk", "allowed"),
    [
        pytest.param({"kty": "oct", "k": b64(b"s" * 32), "kid": "h"}, ("HS256",), id="symmetric-in-key-set"),
        pytest.param(
            {"kty": "RSA", "kid": "r", "alg": "HS256", "n": "AQAB", "e": "AQAB"},
            ("RS256",),
            id="rsa-claiming-hs256",
        ),
        pytest.param(
            {"kty": "RSA", "kid": "r", "alg": "RS512", "n": "AQAB", "e": "AQAB"},
            ("RS256",),
            id="alg-not-allowed",
        ),
        pytest.param(
            {"kty": "RSA", "kid": "r", "n": b64(b"\xff" * 256), "e": "AQ"}, ("RS256",), id="exponent-1"
        ),
        pytest.param(
            {"kty": "EC", "kid": "e", "crv": "P-384", "x": "AA", "y": "AA"}, ("ES256",), id="wrong-curve"
        ),
        pytest.param(
            {"kty": "OKP", "kid": "o", "crv": "Ed25519", "x": "AA"}, ("RS256",), id="unsupported-kty"
        ),
        pytest.param({"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"}, ("RS256",), id="use-enc"),
        pytest.param(
            {"kty": "RSA", "key_ops": ["encrypt"], "n": "AQAB", "e": "AQAB"}, ("RS256",), id="key-ops"
        ),
    ],
)
def test_unusable_jwks_are_refused(jwk: dict[str, Any], allowed: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - every reason is a ValueError naming it
        key_from_jwk(jwk, allowed)


def test_hmac_secret_must_be_long_enough() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        HmacKey.create("short")
    key = HmacKey.create(b"k" * 32)
    assert not key.verify(DATA, b"")
