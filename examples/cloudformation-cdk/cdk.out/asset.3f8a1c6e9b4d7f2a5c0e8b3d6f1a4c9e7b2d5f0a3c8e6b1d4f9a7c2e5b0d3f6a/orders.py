"""The orders HTTP API (lambda/orders/orders.py in the CDK app), behind a JWT authorizer."""

from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    if event["requestContext"]["http"]["method"] == "POST":
        order = json.loads(event.get("body") or "{}")
        return {"statusCode": 201, "body": json.dumps({"id": "o-2", **order, "customer": claims["sub"]})}
    return {"orders": [{"id": "o-1", "item": "kibble"}], "customer": claims["sub"]}
