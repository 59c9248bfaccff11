"""Inventory's Lambda TOKEN authorizer: an RS256 access token of the issuer allows the whole stage."""

from __future__ import annotations

import os
from typing import Any

import jwt

_jwks = jwt.PyJWKClient(os.environ["JWKS_URI"], cache_keys=True)


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
    arn_prefix, api_path = event["methodArn"].split("/", 1)
    stage = api_path.split("/", 1)[0]
    return {
        "principalId": claims["sub"],
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": f"{arn_prefix}/{stage}/*"}
            ],
        },
    }
