"""Lambda authorizers for Auth0 access tokens, in the shape of auth0-samples' custom authorizer:
RS256 signature from the tenant's JWKS, audience and issuer checked; ``raise Exception("Unauthorized")``
answers 401."""

import os
import re

import jwt

_BEARER = re.compile(r"^Bearer (.+)$")
_jwks_clients = {}


def _claims(header_value):
    match = _BEARER.match(header_value or "")
    if match is None:
        raise Exception("Unauthorized")
    token = match.group(1)
    uri = os.environ["JWKS_URI"]
    client = _jwks_clients.get(uri) or _jwks_clients.setdefault(uri, jwt.PyJWKClient(uri))
    try:
        key = client.get_signing_key_from_jwt(token)
        return jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=os.environ["AUDIENCE"],
            issuer=os.environ["TOKEN_ISSUER"],
        )
    except jwt.PyJWTError:
        raise Exception("Unauthorized") from None


def _policy(principal, effect, resource, context):
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": context,
    }


def token_handler(event, context):
    """TOKEN authorizer: reading is open to every valid token, writing needs the write:pets scope."""
    claims = _claims(event["authorizationToken"])
    method = event["methodArn"].split("/")[2]
    scopes = claims.get("scope", "").split()
    effect = "Allow" if method == "GET" or "write:pets" in scopes else "Deny"
    return _policy(claims["sub"], effect, event["methodArn"], {"scope": " ".join(scopes)})


def request_handler(event, context):
    """REQUEST authorizer: a valid token, and a visit number in X-Clinic-Visit."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    claims = _claims(headers.get("authorization"))
    visit = headers.get("x-clinic-visit", "")
    effect = "Allow" if visit.isdigit() else "Deny"
    return _policy(claims["sub"], effect, event["methodArn"], {"visit": visit})
