"""Seed 004: the ``wish-list-service`` function, ported from Node to Python, on the DynamoDB table
``WishList`` (boto3, as the seed uses the AWS SDK's DocumentClient).

The seed's Lambda switches on ``event.requestContext.http.method`` (payload 2.0):

* ``GET``  → ``ddb.scan({TableName: "WishList"})``, returned as 200 ``{"Items": [...], "Count": n,
  "ScannedCount": n}`` (the DocumentClient's scan result, ``JSON.stringify``'d: compact);
* ``POST`` → ``JSON.parse(event.body)`` for ``{name, url, description}``, ``put`` with
  ``id = context.awsRequestId``, → 201 ``{"id": <request id>}``;
* anything else → ``break``: the function returns nothing (``null``), which an HTTP API turns into
  its inferred 200 response.

The table is declared in the example stack's ``tables:``; ``gatehold up`` serves it from its local
DynamoDB endpoint (docs/dynamodb.md), which boto3 finds in ``AWS_ENDPOINT_URL_DYNAMODB``, so this
code would run unchanged in AWS. Items keep only the attributes the client sent, as the
DocumentClient leaves out ``undefined`` ones. A body that is not JSON raises, as ``JSON.parse`` does
(→ 500).
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import boto3

TABLE_NAME = "WishList"
_table = boto3.resource("dynamodb").Table(TABLE_NAME)


def _number(value: Any) -> Any:
    """JSON for DynamoDB's numbers (boto3 reads them as ``Decimal``), as ``JSON.stringify`` writes them."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _json(status: int, data: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "body": json.dumps(data, separators=(",", ":"), default=_number),
        "headers": {"Content-Type": "application/json"},
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | None:
    method = event["requestContext"]["http"]["method"]
    if method == "GET":
        data = _table.scan()
        result = {"Items": data["Items"], "Count": data["Count"], "ScannedCount": data["ScannedCount"]}
        if "LastEvaluatedKey" in data:
            result["LastEvaluatedKey"] = data["LastEvaluatedKey"]
        return _json(200, result)
    if method == "POST":
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("utf-8")
        fields = json.loads(body, parse_float=Decimal)  # DynamoDB's numbers: boto3 takes no float
        item = {"id": context.aws_request_id}
        item.update({key: fields[key] for key in ("name", "url", "description") if key in fields})
        _table.put_item(Item=item)
        return _json(201, {"id": context.aws_request_id})
    return None
