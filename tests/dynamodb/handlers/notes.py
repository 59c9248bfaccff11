"""The SAM template's function: notes in the SimpleTable its environment names (``!Ref``), and an
order written to and queried from the AWS::DynamoDB::Table (its global index ``byStatus``)."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

dynamodb = boto3.resource("dynamodb")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    note_id = event["pathParameters"]["noteId"]
    notes = dynamodb.Table(os.environ["NOTES"])
    if event["requestContext"]["http"]["method"] == "PUT":
        notes.put_item(Item={"noteId": note_id, "text": event["body"]})
        orders = dynamodb.Table(os.environ["ORDERS"])
        orders.put_item(Item={"customer": note_id, "orderId": "1", "status": "open"})
        found = orders.query(
            IndexName="byStatus",
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": "open"},
        )
        body = {
            "orders_open": sorted(i["customer"] for i in found["Items"]),
            "tables": {name: os.environ[name] for name in ("NOTES", "ORDERS", "ORDERS_ARN")},
        }
        return {"statusCode": 200, "body": json.dumps(body)}
    got = notes.get_item(Key={"noteId": note_id})
    return {"statusCode": 200 if "Item" in got else 404, "body": json.dumps(got.get("Item"))}
