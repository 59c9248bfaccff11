"""JWKS discovery, caching, kid rotation, refetch limits and failures over real loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gatehold.jose import ClaimsExpectations, JwksKeySource, JwtVerifier, UnknownKey
from tests.jose.support import FakeIssuer, ManualClock, SigningKey, b64, claims_for, rsa_jwk

AUD = "https://api.example"
DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/.well-known/jwks.json"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def make(issuer: FakeIssuer, http: httpx.AsyncClient, clock: ManualClock, **kw: float) -> JwtVerifier:
    source = JwksKeySource(
        http,
        issuer=issuer.issuer,
        allowed_algorithms=("RS256",),
        ttl=kw.get("ttl", 3600),
        min_refetch_interval=kw.get("min_refetch_interval", 10),
        clock=clock,
    )
    return JwtVerifier(source, ClaimsExpectations(issuer.issuer, frozenset({AUD})))


async def test_discovery_then_jwks_then_cached(issuer: FakeIssuer, http: httpx.AsyncClient) -> None:
    v = make(issuer, http, ManualClock())
    for i in range(3):
        await v.verify(issuer.token(claims_for(issuer.issuer, AUD, jti=str(i))))
    assert issuer.requests == [DISCOVERY, JWKS]


async def test_jwks_refetched_after_ttl(issuer: FakeIssuer, http: httpx.AsyncClient) -> None:
    clock = ManualClock()
    v = make(issuer, http, clock, ttl=60)
    await v.verify(issuer.token(claims_for(issuer.issuer, AUD, jti="a")))
    clock.advance(61)
    await v.verify(issuer.token(claims_for(issuer.issuer, AUD, jti="b")))
    assert issuer.requests == [DISCOVERY, JWKS, JWKS]


async def test_kid_rotation_at_the_issuer_while_running(
    issuer: FakeIssuer, http: httpx.AsyncClient, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    clock = ManualClock()
    v = make(issuer, http, clock)
    old_token = issuer.token(claims_for(issuer.issuer, AUD))
    await v.verify(old_token)
    # the issuer rotates: k2 signs from now on, k1 stays published for a while
    k2 = SigningKey("k2", rsa_keys[1])
    issuer.keys.append(k2)
    clock.advance(11)  # past the minimum refetch interval
    _, hit = await v.verify(issuer.token(claims_for(issuer.issuer, AUD), key=k2))
    assert hit is False
    assert issuer.requests == [DISCOVERY, JWKS, JWKS]  # one refetch for the unknown kid
    # k1 removed: the verified-token cache is dropped with the old key set
    issuer.keys.remove(issuer.keys[0])
    clock.advance(11)
    k3 = SigningKey("k3", rsa_keys[2])
    issuer.keys.append(k3)
    await v.verify(issuer.token(claims_for(issuer.issuer, AUD), key=k3))
    with pytest.raises(UnknownKey):
        await v.verify(old_token)


async def test_unknown_kid_refetch_is_rate_limited(issuer: FakeIssuer, http: httpx.AsyncClient) -> None:
    clock = ManualClock()
    v = make(issuer, http, clock)
    await v.verify(issuer.token(claims_for(issuer.issuer, AUD)))
    for i in range(20):
        with pytest.raises(UnknownKey):
            await v.verify(issuer.token(claims_for(issuer.issuer, AUD), kid=f"random-{i}"))
    assert issuer.requests == [DISCOVERY, JWKS]  # all within the 10 s minimum interval
    clock.advance(10)
    with pytest.raises(UnknownKey):
        await v.verify(issuer.token(claims_for(issuer.issuer, AUD), kid="random-x"))
    assert issuer.requests == [DISCOVERY, JWKS, JWKS]


@pytest.mark.parametrize("failure", ["stopped", "503", "garbage", "huge"])
async def test_unreachable_or_broken_endpoint_keeps_cached_keys(
    failure: str, issuer: FakeIssuer, http: httpx.AsyncClient
) -> None:
    clock = ManualClock()
    v = make(issuer, http, clock, ttl=60)
    await v.verify(issuer.token(claims_for(issuer.issuer, AUD, jti="first")))
    if failure == "stopped":
        issuer.stop()
    else:
        issuer.mode = failure
    clock.advance(120)  # TTL expired: a refetch is attempted and fails
    claims, _ = await v.verify(issuer.token(claims_for(issuer.issuer, AUD, jti="second")))
    assert claims["jti"] == "second"
    assert v.keys.last_error is not None  # type: ignore[attr-defined]
    with pytest.raises(UnknownKey):  # unknown keys → 401, never 500
        await v.verify(issuer.token(claims_for(issuer.issuer, AUD), kid="other"))


@pytest.mark.parametrize("failure", ["stopped", "503", "garbage", "huge", "wrong-issuer"])
async def test_no_keys_at_all_is_unknown_key(
    failure: str, issuer: FakeIssuer, http: httpx.AsyncClient
) -> None:
    token = issuer.token(claims_for(issuer.issuer, AUD))
    if failure == "stopped":
        issuer.stop()
    elif failure == "wrong-issuer":
        issuer.discovery_issuer = "https://elsewhere.example/"
    else:
        issuer.mode = failure
    v = make(issuer, http, ManualClock())
    with pytest.raises(UnknownKey):
        await v.verify(token)


async def test_malformed_keys_are_skipped(
    issuer: FakeIssuer, http: httpx.AsyncClient, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    issuer.extra_jwks = [
        "not an object",
        {"kty": "RSA", "kid": "bad-n", "n": "!!!", "e": "AQAB"},
        {"kty": "RSA", "kid": "no-e", "n": b64(b"\x01" * 256)},
        {"kty": "oct", "kid": "secret", "k": b64(b"s" * 32)},
        {"kty": "EC", "kid": "off-curve", "crv": "P-256", "x": b64(b"\x01" * 32), "y": b64(b"\x02" * 32)},
        rsa_jwk(small.public_key(), "small"),
        rsa_jwk(rsa_keys[1].public_key(), "enc", use="enc"),
        rsa_jwk(rsa_keys[1].public_key(), "hs", alg="HS256"),
        {"kty": "RSA", "kid": 7, "n": "AQAB", "e": "AQAB"},
    ]
    v = make(issuer, http, ManualClock())
    await v.verify(issuer.token(claims_for(issuer.issuer, AUD)))
    source = v.keys
    assert isinstance(source, JwksKeySource)
    assert source.cached_key("k1") is not None
    for kid in ("bad-n", "no-e", "secret", "off-curve", "small", "enc", "hs"):
        assert source.cached_key(kid) is None


async def test_configured_jwks_uri_skips_discovery(issuer: FakeIssuer, http: httpx.AsyncClient) -> None:
    source = JwksKeySource(
        http, issuer=issuer.issuer, allowed_algorithms=("RS256",), jwks_uri=issuer.base_url + JWKS
    )
    v = JwtVerifier(source, ClaimsExpectations(issuer.issuer, frozenset({AUD})))
    await v.verify(issuer.token(claims_for(issuer.issuer, AUD)))
    assert issuer.requests == [JWKS]
