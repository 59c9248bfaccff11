"""The example order service of docs/configuration.md: one handler behind REST routes (payload
format 1.0) and HTTP API routes (payload 2.0), the way a Lambda function is often shared."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

# warm state: kept between invocations of the same execution environment, as in Lambda
ORDERS: dict[str, dict[str, Any]] = {"1": {"id": "1", "item": "book", "quantity": 1}}


def _method(event: dict[str, Any]) -> str:
    if event.get("version") == "2.0":
        return str(event["requestContext"]["http"]["method"])
    return str(event["httpMethod"])  # payload 1.0


def _json(status: int, value: Any) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(value)}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    method = _method(event)
    order_id = (event.get("pathParameters") or {}).get("id")
    if method == "GET" and order_id is not None:
        order = ORDERS.get(order_id)
        return _json(200, order) if order else _json(404, {"message": f"no order {order_id}"})
    if method == "GET":
        return _json(200, {"table": os.environ.get("TABLE", "orders"), "orders": list(ORDERS.values())})
    if method == "POST":
        body = event.get("body") or "{}"
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        order = {"id": str(len(ORDERS) + 1), **json.loads(body)}
        ORDERS[order["id"]] = order
        return _json(201, order)
    return _json(405, {"message": f"{method} is not allowed"})
