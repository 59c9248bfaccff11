"""Inventory items: a Lambda proxy handler (payload 1.0)."""

from __future__ import annotations

import json
from typing import Any

ITEMS = {"1": {"id": "1", "name": "kibble", "quantity": 12}}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event["httpMethod"] == "POST":
        item = json.loads(event["body"])
        return {"statusCode": 201, "body": json.dumps({**item, "id": "2"})}
    item_id = (event.get("pathParameters") or {}).get("itemId")
    if item_id is None:
        return {"statusCode": 200, "body": json.dumps({"items": list(ITEMS.values())})}
    item = ITEMS.get(item_id)
    if item is None:
        return {"statusCode": 404, "body": json.dumps({"message": "no such item"})}
    return {"statusCode": 200, "body": json.dumps(item)}
