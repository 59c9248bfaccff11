"""Lambda authorizers of docs/configuration.md.

``token_authorizer`` is AWS's example TOKEN authorizer (the developer guide's "allow" / "deny" /
"unauthorized" tokens) in Python; ``request_authorizer`` a REQUEST authorizer reading a header and a
query parameter; ``simple_authorizer`` an HTTP API authorizer with simple responses (payload 2.0).
"""

from __future__ import annotations

from typing import Any


def _policy(principal_id: str, effect: str, method_arn: str, context: dict[str, Any]) -> dict[str, Any]:
    # arn:aws:execute-api:{region}:{account}:{api id}/{stage}/{VERB}/{path}: allow every method of the
    # stage, so a cached policy also covers the caller's next request to another route
    api_and_stage = "/".join(method_arn.split("/")[:2])
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": f"{api_and_stage}/*/*"},
            ],
        },
        "context": context,
    }


def token_authorizer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    token = event["authorizationToken"]
    if token == "allow":
        return _policy("user-42", "Allow", event["methodArn"], {"tier": "gold", "quota": 3, "admin": False})
    if token == "deny":
        return _policy("user-42", "Deny", event["methodArn"], {})
    if token == "unauthorized":
        raise Exception("Unauthorized")  # exactly this message: 401 {"message":"Unauthorized"}
    raise Exception("Error: Invalid token")  # any other error: 500 {"message": null}


def request_authorizer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    tenant = (event.get("queryStringParameters") or {}).get("tenant")
    effect = "Allow" if headers.get("x-client-id") == "mobile" and tenant == "acme" else "Deny"
    return _policy(f"{tenant}:{headers.get('x-client-id')}", effect, event["methodArn"], {"tenant": tenant})


def simple_authorizer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    client = event["headers"].get("x-client-id")  # payload 2.0: header names are lowercase
    return {"isAuthorized": client == "mobile", "context": {"client": client, "scopes": ["orders"]}}
