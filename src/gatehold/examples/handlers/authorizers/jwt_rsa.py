"""Seeds 001/003: auth0-samples/jwt-rsa-aws-custom-authorizer, ported from Node to Python.

Same steps as the sample's ``lib.js``:

1. ``event.type`` must be ``TOKEN`` and ``event.authorizationToken`` set;
2. the token must match ``^Bearer (.*)$``;
3. the decoded header must carry a ``kid`` (``'invalid token'`` otherwise);
4. the signing key comes from ``JWKS_URI`` through a cache with a rate limit (jwks-rsa
   ``cache: true, rateLimit: true, jwksRequestsPerMinute: 10``), keeping only keys with
   ``use: "sig"``, ``kty: "RSA"``, a ``kid`` and ``n``/``e`` (jwks-rsa 1.2.1's filter);
5. verify the RS256 signature, ``aud`` = ``AUDIENCE`` and ``iss`` = ``TOKEN_ISSUER`` (and ``exp``);
6. return ``{principalId: sub, policyDocument: Allow execute-api:Invoke on event.methodArn,
   context: {scope}}``.

Any failure raises ``Exception("Unauthorized")`` (the sample's ``context.fail("Unauthorized")``),
which API Gateway turns into 401. Note the sample's well-known pitfall, kept on purpose: the policy
names only ``event.methodArn`` while the authorizer's TTL is 3600 s (see docs/authorizers.md).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from typing import Any

import httpx

from gatehold.jose import (
    ClaimsExpectations,
    RsaKey,
    check_signature,
    key_from_jwk,
    parse_compact,
    validate_claims,
)

log = logging.getLogger(__name__)

JWKS_REQUESTS_PER_MINUTE = 10
_BEARER = re.compile(r"^Bearer (.*)$")


class _SigningKeys:
    """jwks-rsa's client: cached keys, refetched on an unknown ``kid`` at most 10 times a minute."""

    def __init__(self, jwks_uri: str) -> None:
        self.jwks_uri = jwks_uri
        self.keys: dict[str, RsaKey] = {}
        self.requests: list[float] = []
        self.lock = threading.Lock()

    def get_signing_key(self, kid: str) -> RsaKey:
        with self.lock:
            key = self.keys.get(kid)
            if key is not None:
                return key
            now = time.monotonic()
            self.requests = [t for t in self.requests if now - t < 60]
            if len(self.requests) >= JWKS_REQUESTS_PER_MINUTE:
                raise LookupError("Too many requests to the JWKS endpoint")
            self.requests.append(now)
            response = httpx.get(self.jwks_uri, timeout=5.0)
            response.raise_for_status()
            self.keys = {}
            for jwk in response.json().get("keys", []):
                usable = (
                    isinstance(jwk, dict)
                    and jwk.get("use") == "sig"
                    and jwk.get("kty") == "RSA"
                    and jwk.get("kid")
                    and jwk.get("n")
                    and jwk.get("e")
                )
                if not usable:
                    continue
                try:
                    rsa_key = key_from_jwk(jwk, ("RS256",))
                except ValueError:
                    continue
                if isinstance(rsa_key, RsaKey) and rsa_key.kid is not None:
                    self.keys[rsa_key.kid] = rsa_key
            key = self.keys.get(kid)
            if key is None:
                raise LookupError(f"Unable to find a signing key that matches '{kid}'")
            return key


_clients: dict[str, _SigningKeys] = {}
_clients_lock = threading.Lock()


def _client(jwks_uri: str) -> _SigningKeys:
    with _clients_lock:
        client = _clients.get(jwks_uri)
        if client is None:
            client = _clients[jwks_uri] = _SigningKeys(jwks_uri)
        return client


def get_token(event: dict[str, Any]) -> str:
    if not event.get("type") or event["type"] != "TOKEN":
        raise ValueError('Expected "event.type" parameter to have value "TOKEN"')
    token_string = event.get("authorizationToken")
    if not token_string:
        raise ValueError('Expected "event.authorizationToken" parameter to be set')
    match = _BEARER.match(str(token_string))
    if not match:
        raise ValueError(f'Invalid Authorization token - {token_string} does not match "Bearer .*"')
    return match.group(1)


def authenticate(event: dict[str, Any]) -> dict[str, Any]:
    token = get_token(event)
    decoded = parse_compact(token)
    if not decoded.kid:
        raise ValueError("invalid token")
    key = _client(os.environ["JWKS_URI"]).get_signing_key(decoded.kid)
    check_signature(decoded, key)
    expected = ClaimsExpectations(
        os.environ["TOKEN_ISSUER"], frozenset({os.environ["AUDIENCE"]}), client_id_fallback=False
    )
    validate_claims(decoded.claims, expected, time.time())
    claims = decoded.claims
    return {
        "principalId": claims.get("sub"),
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}
            ],
        },
        "context": {"scope": claims.get("scope")},
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        return authenticate(event)
    except Exception as exc:  # the sample: .catch(err => context.fail("Unauthorized"))
        log.info("authorizer refused the token: %s: %s", type(exc).__name__, getattr(exc, "description", exc))
        raise Exception("Unauthorized") from None
