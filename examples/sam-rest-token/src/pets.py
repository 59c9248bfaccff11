"""Pets: one Lambda proxy handler (payload 1.0) for every method of the REST API."""

from __future__ import annotations

import json
import os
from typing import Any

PETS = {"1": {"id": "1", "type": "dog", "price": 249.99}, "2": {"id": "2", "type": "cat", "price": 124.99}}


def _reply(status: int, body: Any = None) -> dict[str, Any]:
    # with a Lambda proxy integration the function adds the CORS headers itself (SAM's Cors covers
    # the OPTIONS preflight only)
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": "application/json",
            "Access-Control-Allow-Origin": os.environ["SHOP_ORIGIN"],
        },
        "body": "" if body is None else json.dumps(body),
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    method = event["httpMethod"]
    pet_id = (event.get("pathParameters") or {}).get("petId")
    authorizer = event["requestContext"].get("authorizer") or {}
    if pet_id is None and method == "GET":
        return _reply(200, {"pets": list(PETS.values()), "caller": authorizer.get("principalId")})
    if pet_id is None and method == "POST":
        pet = json.loads(event.get("body") or "{}")
        return _reply(201, {**pet, "id": str(len(PETS) + 1)})
    if pet_id not in PETS:
        return _reply(404, {"message": f"no pet {pet_id}"})
    if method == "DELETE":
        return _reply(204)
    return _reply(200, PETS[pet_id])
