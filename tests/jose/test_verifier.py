"""Every JWT check and its error description, and hostile tokens, against a real JWKS server.

All refusals are :class:`JoseError` (a 401 at the gateway), never another exception (a 500).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gatehold.jose import ClaimsExpectations, JoseError, JwksKeySource, JwtVerifier, validate_claims
from gatehold.jose.errors import InvalidClaims
from tests.jose.hostile import HOSTILE
from tests.jose.support import (
    FakeIssuer,
    ManualClock,
    claims_for,
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
