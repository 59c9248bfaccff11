"""A TOKEN authorizer with the classic mistake: its policy allows ``event.methodArn`` only, so a
cached result denies the caller's other routes. ``deny-me`` gets an explicit Deny statement after
an Allow for everything; ``raise`` raises ``Unauthorized``."""

from __future__ import annotations

from typing import Any


def only_this_method(event: dict[str, Any], context: Any) -> dict[str, Any]:
    token = str(event.get("authorizationToken", ""))
    if token == "raise":
        raise Exception("Unauthorized")
    arn = str(event["methodArn"])
    statements = [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": arn}]
    if token == "deny-me":
        everything = "/".join(arn.split("/")[:2]) + "/*"
        statements = [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": everything},
            {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": arn},
        ]
    return {
        "principalId": f"user-{token}",
        "policyDocument": {"Version": "2012-10-17", "Statement": statements},
        "context": {"token": token},
    }


def simple_answer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """An HTTP API simple response: ``x-user: admin`` is authorized, anyone else is not."""
    user = event["headers"].get("x-user")
    return {"isAuthorized": user == "admin", "context": {"user": user}}
