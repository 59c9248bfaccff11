"""What a function's environment holds of the AWS variables (the stack's, or the function's own)."""

from __future__ import annotations

import json
import os
from typing import Any

NAMES = (
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "NODE_OPTIONS",
)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": json.dumps({name: os.environ.get(name) for name in NAMES})}
