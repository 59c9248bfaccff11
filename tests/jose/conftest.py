from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.jose.support import FakeIssuer, SigningKey


@pytest.fixture(scope="session")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]


@pytest.fixture
def issuer(rsa_keys: list[rsa.RSAPrivateKey]) -> Iterator[FakeIssuer]:
    server = FakeIssuer(keys=[SigningKey("k1", rsa_keys[0])]).start()
    try:
        yield server
    finally:
        server.stop()
