"""Seed 000's custom authorizer (the Movies and Devices APIs), ported from Node to Python.

The original (APN blog "How to Integrate REST APIs with Single-Page Apps and Secure Them Using Auth0
- Part 2") verifies the HS256 access token with the signing secret and the audience
``https://StreamingResourceServer``, reads the resource from ``event.methodArn`` (``movie`` or
``device``) and returns an IAM policy for ``event.methodArn``: Allow when the token's scope fits the
resource (``read:Movies`` for ``movie``, ``read:Devices`` for ``device``), Deny otherwise, and Deny
with an empty principal when verification fails (API Gateway then answers 403).

Two deliberate differences, both documented in docs/authorizers.md:

* the seed compared the *whole* ``scope`` string for equality (``decoded.scope == "read:Movies"``);
  real Auth0 access tokens also carry ``openid profile email``, so we check **membership**;
* a leading ``Bearer `` is stripped (the seed's SPA sent the bare token; ours and most clients send
  ``Authorization: Bearer …``); API Gateway passes the header verbatim to TOKEN authorizers.

Environment: ``SIGNING_SECRET`` (the API's HS256 secret), ``AUDIENCE``.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import Any

from gatehold.jose import ClaimsExpectations, HmacKey, JoseError, JwtVerifier, StaticKeys, token_scopes

log = logging.getLogger(__name__)

REQUIRED_SCOPE = {"movie": "read:Movies", "device": "read:Devices"}


@lru_cache(maxsize=8)
def _verifier(secret: str, audience: str) -> JwtVerifier:
    keys = StaticKeys([HmacKey.create(secret, "HS256")])
    return JwtVerifier(keys, ClaimsExpectations(None, frozenset({audience}), client_id_fallback=False))


def resource_path(method_arn: str) -> str:
    """``arn:aws:execute-api:r:a:api/beta/GET/movie`` → ``movie`` (the seed's ``resource_path``)."""
    api_gateway_arn = method_arn.split(":", 5)[-1]
    return "/".join(api_gateway_arn.split("/")[3:])


def generate_policy(principal_id: str, effect: str, resource: str) -> dict[str, Any]:
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    access_token = str(event.get("authorizationToken") or "")
    if access_token.startswith("Bearer "):
        access_token = access_token[7:]
    method_arn = str(event.get("methodArn") or "")
    verifier = _verifier(os.environ["SIGNING_SECRET"], os.environ["AUDIENCE"])
    try:
        decoded = verifier.verify_sync(access_token)
    except JoseError as exc:
        log.info("JWT Verification Error: %s", exc.description)
        return generate_policy("", "Deny", method_arn)
    required = REQUIRED_SCOPE.get(resource_path(method_arn).strip())
    sub = str(decoded.get("sub", ""))
    if required is not None and required in token_scopes(decoded):
        log.info("Allow IAM Policy Generated")
        return generate_policy(sub, "Allow", method_arn)
    log.info("Deny IAM Policy Generated")
    return generate_policy(sub, "Deny", method_arn)
