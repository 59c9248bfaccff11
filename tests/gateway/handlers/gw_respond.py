"""Test Lambda handler: return whatever JSON the request body holds under "result"."""

import base64
import json


def handler(event, context):
    body = event.get("body") or "{}"
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body)["result"]
