"""Lambda handlers for the edge tests (loaded by the real runtime from tests/edge/handlers)."""

from __future__ import annotations

import json
from typing import Any


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Echo the request context's identity; also sends CORS headers the gateway must ignore."""
    identity = event.get("requestContext", {}).get("identity") or {}
    return {
        "statusCode": 200,
        "headers": {
            "Content-Type": "application/json",
            "Access-Control-Allow-Origin": "https://backend-says.example",
            "Access-Control-Allow-Methods": "DELETE",
        },
        "body": json.dumps({"apiKey": identity.get("apiKey"), "apiKeyId": identity.get("apiKeyId")}),
    }


def hello(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": "hello"}


def token_authorizer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """TOKEN authorizer: ``allow:<usage key>`` allows and names the usage identifier key."""
    token = event.get("authorizationToken", "")
    if not token.startswith("allow"):
        raise Exception("Unauthorized")
    _, _, usage_key = token.partition(":")
    result: dict[str, Any] = {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}
            ],
        },
    }
    if usage_key:
        result["usageIdentifierKey"] = usage_key
    return result


def boom(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("boom")
