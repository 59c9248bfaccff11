"""The stable's handlers: payload format 2.0 events, as API Gateway HTTP APIs send them."""

import json
import os

UNICORNS = {
    "sparkle": {"name": "sparkle", "colour": "pink", "age": 7},
    "thunder": {"name": "thunder", "colour": "silver", "age": 12},
}


def _json(status, body):
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def list_unicorns(event, context):
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    return _json(
        200,
        {
            "stable": os.environ["STABLE_NAME"],
            "stage": os.environ["STAGE"],
            "caller": claims["sub"],
            "unicorns": sorted(UNICORNS),
        },
    )


def get_unicorn(event, context):
    name = event["pathParameters"]["name"]
    unicorn = UNICORNS.get(name)
    if unicorn is None:
        return _json(404, {"message": f"no unicorn named {name}"})
    return _json(200, unicorn)


def health(event, context):
    return {"ok": True, "route": event["routeKey"]}
