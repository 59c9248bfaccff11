"""The items API on boto3: ``POST`` puts (only when the id is new), ``GET /{id}`` gets, ``GET``
counts; ``GET /owners/{owner}`` queries the ``byOwner`` global index; ``GET /missing`` reads a table
that does not exist."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

import boto3
from botocore.exceptions import ClientError

dynamodb = boto3.resource("dynamodb")
table = dynamodb.Table(os.environ["TABLE_NAME"])


def reply(status: int, data: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "body": json.dumps(data, default=lambda d: int(d) if d == int(d) else float(d)),
        "headers": {"Content-Type": "application/json"},
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    params = event.get("pathParameters") or {}
    path = event["requestContext"]["http"]["path"]
    try:
        if event["requestContext"]["http"]["method"] == "POST":
            item = json.loads(event["body"], parse_float=Decimal)
            table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)")
            return reply(201, {"id": item["id"]})
        if "owner" in params:
            found = table.query(
                IndexName="byOwner",
                KeyConditionExpression="#o = :o AND created > :t",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":o": params["owner"], ":t": 0},
            )
            return reply(200, {"ids": [i["id"] for i in found["Items"]]})
        if path.endswith("/missing"):
            dynamodb.Table("NoSuchTable").get_item(Key={"id": "x"})
        if "id" in params:
            got = table.get_item(Key={"id": params["id"]})
            return reply(200, got["Item"]) if "Item" in got else reply(404, {"error": "not found"})
        return reply(200, {"count": table.scan(Select="COUNT")["Count"]})
    except ClientError as exc:
        return reply(409, {"error": exc.response["Error"]["Code"]})
