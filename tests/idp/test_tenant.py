"""Client-secret hashes (salted SHA-256, constant-time comparison)."""

from __future__ import annotations

import pytest

from gatehold.idp.tenant import ClientSecretHash, hash_client_secret, verify_client_secret

SECRET = "demo-m2m-secret-change-me-0123456789"


@pytest.mark.parametrize(
    ("stored", "presented", "ok"),
    [
        pytest.param(hash_client_secret(SECRET), SECRET, True, id="right"),
        pytest.param(hash_client_secret(SECRET), SECRET + "x", False, id="suffix"),
        pytest.param(hash_client_secret(SECRET), "", False, id="empty"),
        pytest.param(hash_client_secret("päss"), "päss", True, id="utf8"),
        pytest.param("md5$salt$00", SECRET, False, id="other-scheme"),
        pytest.param("sha256$salt", SECRET, False, id="no-digest"),
        pytest.param("sha256$salt$zz", SECRET, False, id="not-hex"),
        pytest.param("", SECRET, False, id="empty-hash"),
    ],
)
def test_verify(stored: str, presented: str, ok: bool) -> None:
    assert verify_client_secret(stored, presented) is ok
    assert ClientSecretHash.parse(stored).verify(presented) is ok
