"""Seed 002's get-unicorn Lambda, as written in the tutorial; the same file is deployed to every target."""

import json


def lambda_handler(event, context):
    if "queryStringParameters" in event and "name" in (event["queryStringParameters"] or {}):
        unicorn = {"name": event["queryStringParameters"]["name"], "gift": "Flight"}
        return {"statusCode": 200, "body": json.dumps(unicorn)}
    return {"statusCode": 400, "body": json.dumps("Missing Unicorn Name")}
