"""A Lambda REQUEST authorizer: an RS256 bearer token of the issuer, for an allowed tenant.

Identity sources (all required, else API Gateway answers 401 without calling this function):
``Authorization`` and ``X-Tenant-Id`` headers, ``region`` query string parameter, ``ENVIRONMENT``
stage variable. A bad token raises ``Unauthorized`` (401); a tenant outside ``ALLOWED_TENANTS``
gets an explicit Deny (403); otherwise the whole stage is allowed and the tenant and region reach
the integration in ``requestContext.authorizer``.
"""

from __future__ import annotations

import os
from typing import Any

import jwt

_jwks = jwt.PyJWKClient(os.environ["JWKS_URI"], cache_keys=True)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    token = headers.get("authorization", "").removeprefix("Bearer ")
    try:
        key = _jwks.get_signing_key_from_jwt(token).key
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=os.environ["API_AUDIENCE"],
            issuer=os.environ["TOKEN_ISSUER"],
        )
    except jwt.PyJWTError as exc:
        raise Exception("Unauthorized") from exc
    tenant = headers.get("x-tenant-id", "")
    region = (event.get("queryStringParameters") or {}).get("region", "")
    allowed = tenant in os.environ["ALLOWED_TENANTS"].split(",")
    arn_prefix, api_path = event["methodArn"].split("/", 1)
    stage = api_path.split("/", 1)[0]
    return {
        "principalId": claims["sub"],
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow" if allowed else "Deny",
                    "Resource": f"{arn_prefix}/{stage}/*",
                }
            ],
        },
        "context": {
            "tenant": tenant,
            "region": region,
            "environment": (event.get("stageVariables") or {}).get("ENVIRONMENT", ""),
        },
    }
