"""Reports: a Lambda proxy handler (payload 1.0); the authorizer's context says whose they are."""

from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    resource = event["resource"]
    if resource == "/status":
        return {
            "statusCode": 200,
            "body": json.dumps({"status": "ok", "stage": event["requestContext"]["stage"]}),
        }
    authorizer = event["requestContext"]["authorizer"]
    who = {
        "tenant": authorizer["tenant"],
        "region": authorizer["region"],
        "environment": authorizer["environment"],
    }
    if resource == "/reports/{reportId}":
        report_id = event["pathParameters"]["reportId"]
        api_key = event["requestContext"]["identity"].get("apiKey")
        return {"statusCode": 200, "body": json.dumps({"id": report_id, "apiKey": api_key, **who})}
    return {"statusCode": 200, "body": json.dumps({"reports": ["q1", "q2"], **who})}
