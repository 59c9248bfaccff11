"""A Lambda TOKEN authorizer checking RS256 access tokens against the issuer's JWKS.

Shaped like auth0-samples/jwt-rsa-aws-custom-authorizer: ``JWKS_URI``, ``TOKEN_ISSUER`` and
``AUDIENCE`` from the environment; a bad token raises ``Unauthorized`` (API Gateway answers 401); a
good one gets an IAM policy allowing the method when the token's scope has what the method needs
(GET: read:orders, POST: write:orders), an explicit Deny otherwise (API Gateway answers 403).
"""

from __future__ import annotations

import os
from typing import Any

import jwt

_jwks = jwt.PyJWKClient(os.environ["JWKS_URI"], cache_keys=True)
NEEDS = {"GET": "read:orders", "POST": "write:orders"}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    token = event["authorizationToken"].removeprefix("Bearer ")
    try:
        key = _jwks.get_signing_key_from_jwt(token).key
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=os.environ["AUDIENCE"],
            issuer=os.environ["TOKEN_ISSUER"],
        )
    except jwt.PyJWTError as exc:
        raise Exception("Unauthorized") from exc
    # methodArn: arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/VERB/RESOURCE
    verb = event["methodArn"].split(":", 5)[5].split("/")[2]
    allowed = NEEDS.get(verb, "") in str(claims.get("scope", "")).split()
    return {
        "principalId": claims["sub"],
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow" if allowed else "Deny",
                    "Resource": event["methodArn"],
                }
            ],
        },
        "context": {"scope": claims.get("scope", "")},
    }
