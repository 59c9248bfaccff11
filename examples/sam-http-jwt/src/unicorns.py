"""Unicorns: HTTP API handlers (payload format 2.0), behind a JWT authorizer."""

from __future__ import annotations

import json
import os
from typing import Any

UNICORNS = {
    "sparkle": {"name": "sparkle", "colour": "pink", "horn_cm": 31},
    "thunder": {"name": "thunder", "colour": "grey", "horn_cm": 44},
}


def _claims(event: dict[str, Any]) -> dict[str, Any]:
    return event["requestContext"]["authorizer"]["jwt"]["claims"]


def list_unicorns(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # a payload 2.0 handler may return a plain object: API Gateway answers 200 application/json
    return {"unicorns": sorted(UNICORNS), "table": os.environ["TABLE_NAME"], "caller": _claims(event)["sub"]}


def get_unicorn(event: dict[str, Any], context: Any) -> dict[str, Any]:
    name = event["pathParameters"]["name"]
    unicorn = UNICORNS.get(name)
    if unicorn is None:
        return {"statusCode": 404, "body": json.dumps({"message": f"no unicorn named {name}"})}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(unicorn)}


def create_unicorn(event: dict[str, Any], context: Any) -> dict[str, Any]:
    unicorn = json.loads(event.get("body") or "{}")
    scopes = _claims(event).get("scope", "")
    return {"statusCode": 201, "body": json.dumps({"created": unicorn, "scope": scopes})}


def health(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": json.dumps({"ok": True, "stage": os.environ["STAGE"]})}
