"""The pets API's Lambda TOKEN authorizer (lambda/authorizer/index.py in the CDK app).

Checks an RS256 access token against the issuer's JWKS (``JWKS_URI``, ``TOKEN_ISSUER``,
``AUDIENCE``): a bad or missing token raises ``Unauthorized`` (API Gateway answers 401). A good one
gets a policy that allows every method of the API but deletions, which only tokens with the
``https://pets.example.com/admin`` claim may do (an explicit Deny: API Gateway answers 403).
"""

from __future__ import annotations

import os
from typing import Any

import jwt

_jwks = jwt.PyJWKClient(os.environ["JWKS_URI"], cache_keys=True)
ADMIN_CLAIM = "https://pets.example.com/admin"


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
    arn_prefix, api_path = event["methodArn"].split("/", 1)
    stage = api_path.split("/", 1)[0]
    statements = [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": f"{arn_prefix}/{stage}/*"},
    ]
    if not claims.get(ADMIN_CLAIM):
        statements.append(
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": f"{arn_prefix}/{stage}/DELETE/*"}
        )
    return {
        "principalId": claims["sub"],
        "policyDocument": {"Version": "2012-10-17", "Statement": statements},
        "context": {"scope": claims.get("scope", "")},
    }
