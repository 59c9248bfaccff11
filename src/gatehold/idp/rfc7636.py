"""PKCE (RFC 7636), S256 only: ``plain`` exposes the verifier and is refused (RFC 9700 §2.1.1)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from gatehold.idp.errors import InvalidGrant, InvalidRequest

# RFC 7636 §4.1: code_verifier = 43*128unreserved; §4.2: the S256 challenge is 43 base64url chars.
VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def check_challenge(challenge: str | None, method: str | None, *, required: bool) -> str | None:
    """Validate the /authorize side (§4.3); returns the challenge to store, or None."""
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method without code_challenge")
        if required:
            raise InvalidRequest("code_challenge is required (PKCE S256) for public clients")
        return None
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256")
    if not CHALLENGE.fullmatch(challenge):
        raise InvalidRequest("code_challenge must be 43 base64url characters (S256)")
    return challenge


def verify(challenge: str | None, verifier: str | None) -> None:
    """Check the token side (§4.6); downgrade (a verifier without a challenge) is refused."""
    if challenge is None:
        if verifier is not None:
            raise InvalidGrant("code_verifier sent but no code_challenge was used")
        return
    if verifier is None:
        raise InvalidGrant("code_verifier is required")
    if not VERIFIER.fullmatch(verifier):
        raise InvalidGrant("code_verifier must be 43-128 characters of [A-Za-z0-9-._~]")
    if not hmac.compare_digest(s256(verifier), challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")
