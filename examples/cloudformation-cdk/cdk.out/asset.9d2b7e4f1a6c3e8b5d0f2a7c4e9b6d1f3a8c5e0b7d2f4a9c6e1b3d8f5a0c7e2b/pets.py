"""The pets API (lambda/pets/pets.py in the CDK app): a Lambda proxy handler for every method."""

from __future__ import annotations

import json
from typing import Any

PETS = {"1": {"id": "1", "type": "dog", "price": 249.99}, "2": {"id": "2", "type": "cat", "price": 124.99}}
CORS = {"Access-Control-Allow-Origin": "*"}


def _reply(status: int, body: Any = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **CORS},
        "body": "" if body is None else json.dumps(body),
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    method = event["httpMethod"]
    pet_id = (event.get("pathParameters") or {}).get("petId")
    caller = (event["requestContext"].get("authorizer") or {}).get("principalId")
    if pet_id is None and method == "GET":
        return _reply(200, {"pets": list(PETS.values()), "caller": caller})
    if pet_id is None and method == "POST":
        pet = json.loads(event.get("body") or "{}")
        pet["id"] = str(len(PETS) + 1)
        return _reply(201, pet)
    if pet_id not in PETS:
        return _reply(404, {"message": f"no pet {pet_id}"})
    if method == "DELETE":
        return _reply(204)
    return _reply(200, PETS[pet_id])
