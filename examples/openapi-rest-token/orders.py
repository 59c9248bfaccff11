"""The orders API's Lambda proxy handler (REST, payload format 1.0)."""

from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    caller = event["requestContext"]["authorizer"]["principalId"]
    if event["httpMethod"] == "POST":
        order = json.loads(event["body"])
        return {"statusCode": 201, "body": json.dumps({"order": order, "caller": caller})}
    if event["resource"] == "/orders/{orderId}":
        order_id = event["pathParameters"]["orderId"]
        return {"statusCode": 200, "body": json.dumps({"order": {"id": order_id}, "caller": caller})}
    status = event["queryStringParameters"]["status"]
    return {"statusCode": 200, "body": json.dumps({"orders": [], "status": status, "caller": caller})}
