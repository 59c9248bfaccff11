"""Test Lambda handlers: return the event the gateway built, as JSON."""

import json


def handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}


def binary(event, context):
    """Send the request body back as it came (base64 when the gateway encoded it)."""
    return {
        "statusCode": 200,
        "headers": {"Content-Type": event["headers"].get("content-type", "application/octet-stream")},
        "body": event["body"],
        "isBase64Encoded": event["isBase64Encoded"],
    }
