"""Every JWT check and its error description, and hostile tokens, against a real JWKS server.

All refusals are :class:`JoseError` (a 401 at the gateway), never another exception (a 500).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gatehold.jose import ClaimsExpectations, JoseError, JwksKeySource, JwtVerifier, validate_claims
from gatehold.jose.errors import InvalidClaims
from tests.jose.support import (
    FakeIssuer,
    ManualClock,
    b64,
    claims_for,
    rsa_jwk,
    segment,
    sign_hmac,
    sign_rsa,
    unsigned,
)

AUD = "https://api.example"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def verifier(issuer: FakeIssuer, http: httpx.AsyncClient) -> JwtVerifier:
    source = JwksKeySource(http, issuer=issuer.issuer, allowed_algorithms=("RS256",), min_refetch_interval=0)
    return JwtVerifier(source, ClaimsExpectations(issuer.issuer, frozenset({AUD})))


# -- claims, pure, in AWS's order -----------------------------------------------------------------

NOW = 1_800_000_000.0
ISS = "https://idp.example/"
EXPECTED = ClaimsExpectations(ISS, frozenset({AUD, "second"}))


def _c(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"iss": ISS, "aud": AUD, "exp": NOW + 60, "iat": NOW - 1, "nbf": NOW - 1}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    ("claims", "check", "description"),
    [
        pytest.param(_c(), None, None, id="valid"),
        pytest.param(_c(aud=["other", "second"]), None, None, id="aud-list-any"),
        pytest.param(_c(aud=None, client_id=AUD), None, None, id="client_id-when-no-aud"),
        pytest.param(
            _c(iss="https://idp.example"), "iss", "the token does not have a valid issuer", id="iss-prefix"
        ),
        pytest.param(
            _c(iss="https://idp.example/x"), "iss", "the token does not have a valid issuer", id="iss-longer"
        ),
        pytest.param(_c(iss=["evil", ISS]), "iss", "the token does not have a valid issuer", id="iss-list"),
        pytest.param(_c(iss=None), "iss", "the token does not have a valid issuer", id="iss-missing"),
        pytest.param(_c(aud="other"), "aud", "the token does not have a valid audience", id="aud-foreign"),
        pytest.param(_c(aud=None), "aud", "the token does not have a valid audience", id="aud-missing"),
        pytest.param(
            _c(aud="other", client_id=AUD),
            "aud",
            "the token does not have a valid audience",
            id="aud-wins-over-client_id",
        ),
        pytest.param(_c(aud=[["x"]]), "aud", "the token does not have a valid audience", id="aud-nested"),
        pytest.param(_c(exp=NOW), "exp", "the token has expired", id="exp-now"),
        pytest.param(_c(exp=NOW - 1), "exp", "the token has expired", id="exp-past"),
        pytest.param(_c(exp=None), "exp", "the token has no expiration time", id="exp-missing"),
        pytest.param(_c(exp="9999999999"), "exp", "the token's exp claim is not a number", id="exp-string"),
        pytest.param(_c(exp=True), "exp", "the token's exp claim is not a number", id="exp-bool"),
        pytest.param(_c(nbf=NOW + 5), "nbf", "the token is not valid yet", id="nbf-future"),
        pytest.param(_c(iat=NOW + 5), "iat", "the token was issued in the future", id="iat-future"),
        pytest.param(
            _c(iss="x", aud="y", exp=NOW - 5),
            "iss",
            "the token does not have a valid issuer",
            id="order-iss-first",
        ),
        pytest.param(
            _c(aud="y", exp=NOW - 5),
            "aud",
            "the token does not have a valid audience",
            id="order-aud-before-exp",
        ),
    ],
)
def test_claims_checks(claims: dict[str, Any], check: str | None, description: str | None) -> None:
    if check is None:
        assert validate_claims(claims, EXPECTED, NOW) == claims["exp"]
        return
    with pytest.raises(InvalidClaims) as info:
        validate_claims(claims, EXPECTED, NOW)
    assert (info.value.check, info.value.description) == (check, description)


def test_leeway_extends_exp_nbf_iat() -> None:
    lenient = ClaimsExpectations(ISS, frozenset({AUD}), leeway=30)
    validate_claims(_c(exp=NOW - 10, nbf=NOW + 10, iat=NOW + 10), lenient, NOW)


# -- end to end through the JWKS --------------------------------------------------------------


async def test_valid_token_then_cached(issuer: FakeIssuer, verifier: JwtVerifier) -> None:
    token = issuer.token(claims_for(issuer.issuer, AUD))
    claims, hit = await verifier.verify(token)
    assert (claims["sub"], hit) == ("auth0|user-1", False)
    assert await verifier.verify(token) == (claims, True)
    assert issuer.requests == ["/.well-known/openid-configuration", "/.well-known/jwks.json"]


async def test_verified_token_cache_expires_at_exp(issuer: FakeIssuer, http: httpx.AsyncClient) -> None:
    clock = ManualClock()
    source = JwksKeySource(http, issuer=issuer.issuer, allowed_algorithms=("RS256",))
    v = JwtVerifier(source, ClaimsExpectations(issuer.issuer, frozenset({AUD})), clock=clock)
    token = issuer.token(claims_for(issuer.issuer, AUD, lifetime=30, now=clock.now))
    assert (await v.verify(token))[1] is False
    clock.advance(29)
    assert (await v.verify(token))[1] is True
    clock.advance(1)
    with pytest.raises(JoseError, match="expired"):
        await v.verify(token)
    assert len(v.cache) == 0


async def test_cache_is_bounded(issuer: FakeIssuer, http: httpx.AsyncClient) -> None:
    source = JwksKeySource(http, issuer=issuer.issuer, allowed_algorithms=("RS256",))
    v = JwtVerifier(source, ClaimsExpectations(issuer.issuer, frozenset({AUD})), cache_size=5)
    for i in range(12):
        await v.verify(issuer.token(claims_for(issuer.issuer, AUD, jti=str(i))))
    assert len(v.cache) == 5


def _forgeries(public: rsa.RSAPublicKey) -> dict[str, bytes]:
    ser = serialization
    return {
        "pem-spki": public.public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo),
        "pem-pkcs1": public.public_bytes(ser.Encoding.PEM, ser.PublicFormat.PKCS1),
        "der-spki": public.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo),
        "der-pkcs1": public.public_bytes(ser.Encoding.DER, ser.PublicFormat.PKCS1),
        "jwk-json": json.dumps(rsa_jwk(public, "k1")).encode(),
        "ssh-rsa": public.public_bytes(ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH),
        "empty": b"",
    }


HOSTILE: list[tuple[str, Callable[[FakeIssuer, list[rsa.RSAPrivateKey]], str]]] = [
    *[
        (f"alg-{alg}", lambda i, k, alg=alg: unsigned(claims_for(i.issuer, AUD), alg=alg))
        for alg in ("none", "None", "NONE", "nOnE")
    ],
    *[
        (
            f"hs256-with-public-key-{name}",
            lambda i, k, name=name: sign_hmac(_forgeries(k[0].public_key())[name], claims_for(i.issuer, AUD)),
        )
        for name in ("pem-spki", "pem-pkcs1", "der-spki", "der-pkcs1", "jwk-json", "ssh-rsa", "empty")
    ],
    ("null-signature", lambda i, k: i.token(claims_for(i.issuer, AUD)).rsplit(".", 1)[0] + "."),
    ("truncated-signature", lambda i, k: i.token(claims_for(i.issuer, AUD))[:-4]),
    (
        "signature-of-other-token",
        lambda i, k: (
            i.token(claims_for(i.issuer, AUD)).rsplit(".", 1)[0]
            + "."
            + i.token(claims_for(i.issuer, AUD, jti="x")).rsplit(".", 1)[1]
        ),
    ),
    ("junk-after-signature", lambda i, k: i.token(claims_for(i.issuer, AUD)) + "!!!!"),
    ("whitespace-after-signature", lambda i, k: i.token(claims_for(i.issuer, AUD)) + " "),
    ("padding-after-payload", lambda i, k: i.token(claims_for(i.issuer, AUD)).replace(".", "=.", 2)),
    ("signed-by-unknown-key", lambda i, k: sign_rsa(k[1], claims_for(i.issuer, AUD), kid="k1")),
    (
        "jku-to-attacker",
        lambda i, k: sign_rsa(
            k[1], claims_for(i.issuer, AUD), kid="k9", header={"jku": i.base_url + "/attacker-jwks"}
        ),
    ),
    (
        "x5u-to-attacker",
        lambda i, k: sign_rsa(
            k[1], claims_for(i.issuer, AUD), kid="k9", header={"x5u": i.base_url + "/attacker-cert"}
        ),
    ),
    (
        "embedded-jwk",
        lambda i, k: sign_rsa(
            k[1], claims_for(i.issuer, AUD), kid="k9", header={"jwk": rsa_jwk(k[1].public_key(), "k9")}
        ),
    ),
    *[
        (f"kid-{name}", lambda i, k, kid=kid: sign_hmac(b"1" * 32, claims_for(i.issuer, AUD), kid=kid))
        for name, kid in [
            ("path", "../../../../dev/null"),
            ("abs-path", "/dev/null"),
            ("blank", ""),
            ("sql", "x' UNION SELECT '1';--"),
            ("quote", 'k1"'),
            ("url", "http://127.0.0.1:1/"),
        ]
    ],
    ("kid-path-rs256", lambda i, k: sign_rsa(k[1], claims_for(i.issuer, AUD), kid="../../../../dev/null")),
    ("no-kid", lambda i, k: sign_rsa(k[0], claims_for(i.issuer, AUD), kid=None)),
    ("crit-unknown", lambda i, k: i.token(claims_for(i.issuer, AUD), header={"crit": ["x"], "x": 1})),
    ("alg-mismatch-rs384", lambda i, k: i.token(claims_for(i.issuer, AUD), alg="RS384")),
    ("alg-ps256-same-key", lambda i, k: i.token(claims_for(i.issuer, AUD), alg="PS256")),
    ("five-segments", lambda i, k: i.token(claims_for(i.issuer, AUD)) + ".a.b"),
    ("oversized", lambda i, k: i.token(claims_for(i.issuer, AUD, pad="x" * 20_000))),
    ("iss-as-list", lambda i, k: i.token(claims_for(i.issuer, AUD) | {"iss": ["evil", i.issuer]})),
    ("invalid-utf8-payload", lambda i, k: _raw_signed(k[0], b'{"iss":"\xff"}')),
    ("payload-array", lambda i, k: _raw_signed(k[0], b"[1,2]")),
    ("deeply-nested", lambda i, k: _raw_signed(k[0], b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}")),
]


def _raw_signed(key: rsa.RSAPrivateKey, payload: bytes) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signing_input = f"{segment({'alg': 'RS256', 'kid': 'k1'})}.{b64(payload)}"
    return signing_input + "." + b64(key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))


@pytest.mark.parametrize("make", [pytest.param(make, id=name) for name, make in HOSTILE])
async def test_hostile_tokens_are_refused_without_outbound_requests(
    make: Callable[[FakeIssuer, list[rsa.RSAPrivateKey]], str],
    issuer: FakeIssuer,
    verifier: JwtVerifier,
    rsa_keys: list[rsa.RSAPrivateKey],
) -> None:
    # prime the key set so that a refetch for an unknown kid is visible as an extra request
    await verifier.verify(issuer.token(claims_for(issuer.issuer, AUD)))
    token = make(issuer, rsa_keys)
    with pytest.raises(JoseError):
        await verifier.verify(token)
    assert not [p for p in issuer.requests if not p.startswith("/.well-known/")], (
        "followed a URL from a token"
    )
