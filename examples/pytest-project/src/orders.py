"""The Orders API's handlers (HTTP API, payload format 2.0): who is asking comes from the JWT
authorizer's claims, as on API Gateway."""

import json


def _claims(event):
    return event["requestContext"]["authorizer"]["jwt"]["claims"]


def _json(status, body):
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def list_orders(event, context):
    return _json(200, {"customer": _claims(event)["sub"], "orders": []})


def create_order(event, context):
    order = json.loads(event.get("body") or "{}")
    return _json(201, {"customer": _claims(event)["sub"], "order": order})


def health(event, context):
    return _json(200, {"status": "ok"})
