"""Seed 001/003: a local stand-in for AWS's example PetStore backend (docs/aws-reference.md §5.5).

The console's "Example API" sends ``/pets`` and ``/pets/{petId}`` to the demo endpoint
``http://petstore-demo-endpoint.execute-api.com/petstore/pets``; this Lambda (REST proxy, payload
1.0) answers what that backend answers, byte for byte where the documents show it:

* ``GET /pets`` → ``[{"id":1,"type":"dog","price":249.99},{"id":2,"type":"cat","price":124.99},
  {"id":3,"type":"fish","price":0.99}]``; ``?type=fish`` gives the same ids and prices with every
  ``type`` set to ``fish``; ``?type=cat&page=2`` → ids 4-6 priced 999.99, 249.99, 49.97.
* ``GET /pets/1`` → ``{"id":1,"type":"dog","price":249.99}``.
* ``POST /pets`` ``{"type":"dog","price":249.99}`` →
  ``{"pet":{"type":"dog","price":249.99},"message":"success"}``.

Not documented, chosen here (UNVERIFIED): page 2's types without ``type`` (dog, cat, fish again),
pages past 2 (an empty list), unknown pet ids (404 ``{"message":"Pet not found"}``) and a body that is
not JSON (400 ``{"message":"Invalid request body"}``). Every response carries
``Access-Control-Allow-Origin: *``, as the example API's method responses add it.
"""

from __future__ import annotations

import base64
import json
from typing import Any

_TYPES = ("dog", "cat", "fish")
_PRICES = {1: (249.99, 124.99, 0.99), 2: (999.99, 249.99, 49.97)}


def _page(page: int, pet_type: str | None) -> list[dict[str, Any]]:
    prices = _PRICES.get(page)
    if prices is None:
        return []
    first = (page - 1) * len(prices) + 1
    return [
        {"id": first + i, "type": pet_type or _TYPES[i], "price": price} for i, price in enumerate(prices)
    ]


def _response(status: int, body: Any, content_type: str = "application/json") -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_type, "Access-Control-Allow-Origin": "*"},
        "body": text,
    }


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    method = event.get("httpMethod", "GET")
    resource = event.get("resource") or event.get("path") or "/"
    query = event.get("queryStringParameters") or {}
    path_parameters = event.get("pathParameters") or {}

    if resource == "/pets/{petId}" or "petId" in path_parameters:
        if method != "GET":
            return _response(404, f"Cannot {method} {event.get('path', resource)}", "text/html")
        pet_id = _int(path_parameters.get("petId"), 0)
        for pet in _page(1, None) + _page(2, None):
            if pet["id"] == pet_id:
                return _response(200, pet)
        return _response(404, {"message": "Pet not found"})

    if resource == "/pets":
        if method == "GET":
            return _response(200, _page(max(_int(query.get("page"), 1), 1), query.get("type") or None))
        if method == "POST":
            raw = event.get("body") or ""
            if event.get("isBase64Encoded"):
                raw = base64.b64decode(raw).decode("utf-8", errors="replace")
            try:
                pet = json.loads(raw)
            except ValueError:
                return _response(400, {"message": "Invalid request body"})
            return _response(200, {"pet": pet, "message": "success"})

    return _response(404, f"Cannot {method} {event.get('path', resource)}", "text/html")
