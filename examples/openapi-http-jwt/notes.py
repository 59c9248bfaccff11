"""The notes API's Lambda handlers (payload format 2.0), as they would run on AWS Lambda."""

from __future__ import annotations

import json
from typing import Any

NOTES: dict[str, dict[str, Any]] = {"1": {"id": "1", "text": "hello"}}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """GET /notes, POST /notes, GET /notes/{noteId}: the caller is the JWT's subject."""
    jwt = event["requestContext"]["authorizer"]["jwt"]
    caller = {"sub": jwt["claims"]["sub"], "scopes": jwt["scopes"]}
    route = event["routeKey"]
    if route == "POST /notes":
        note_id = str(len(NOTES) + 1)
        NOTES[note_id] = {"id": note_id, "text": json.loads(event.get("body") or "{}").get("text", "")}
        return {"statusCode": 201, "body": json.dumps({"note": NOTES[note_id], "caller": caller})}
    if route == "GET /notes/{noteId}":
        note = NOTES.get(event["pathParameters"]["noteId"])
        if note is None:
            return {"statusCode": 404, "body": json.dumps({"message": "no such note"})}
        return {"statusCode": 200, "body": json.dumps({"note": note, "caller": caller})}
    return {"statusCode": 200, "body": json.dumps({"notes": list(NOTES.values()), "caller": caller})}


def health(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """GET /health (open): an inferred 2.0 response (no statusCode)."""
    return {"status": "ok"}
