"""Lambda handlers for the over-HTTP authorizer tests (loaded by the real runtime via code_path)."""

from __future__ import annotations

import json
from typing import Any


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": json.dumps({"authorizer": event["requestContext"].get("authorizer")})}


def method_arn_only(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """auth0-samples/jwt-rsa-aws-custom-authorizer's policy: Allow for event.methodArn only."""
    if event["authorizationToken"] == "Bearer deny":
        raise Exception("Unauthorized")
    return {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}
            ],
        },
        "context": {"scope": "read:pets", "n": 1, "ok": True},
    }
