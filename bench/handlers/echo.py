"""A Lambda proxy handler (payload 2.0) that answers with the request body it was given."""


def handler(event, context):
    return {
        "statusCode": 200,
        "headers": {"content-type": "text/plain"},
        "body": event.get("body") or "",
        "isBase64Encoded": event.get("isBase64Encoded", False),
    }
