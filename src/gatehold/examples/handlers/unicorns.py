"""Seed 002: the two Python 3.8 unicorn functions, their logic exactly as the tutorial wrote it.

``get-unicorn`` answers ``GET /unicorn?name=…`` (200 with the unicorn, or 400 with the JSON string
``"Missing Unicorn Name"``); ``list-all-unicorns`` answers ``GET /unicorns``. Both sit behind an HTTP
API (payload 2.0) with a JWT authorizer and scopes ``read:unicorn`` / ``list:unicorns``. The seed's
spelling "Magestic" is kept.
"""

from __future__ import annotations

import json
from typing import Any


def get_unicorn(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``lambda_handler`` of the seed's ``get-unicorn`` function."""
    if "queryStringParameters" in event and "name" in event["queryStringParameters"]:
        unicorn = {"name": event["queryStringParameters"]["name"], "gift": "Flight"}

        return {"statusCode": 200, "body": json.dumps(unicorn)}

    return {"statusCode": 400, "body": json.dumps("Missing Unicorn Name")}


def list_all_unicorns(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``lambda_handler`` of the seed's ``list-all-unicorns`` function."""
    unicorns = [
        {"name": "Gaia", "gift": "Speed"},
        {"name": "Magestic", "gift": "Magic"},
        {"name": "Sparkles", "gift": "Glitter"},
    ]

    return {"statusCode": 200, "body": json.dumps(unicorns)}
