"""Returns the event it was given as the response body: point a route at it to see exactly what a
handler receives (docs/configuration.md, "What a handler receives")."""

from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(event, indent=2),
    }
