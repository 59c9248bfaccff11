"""Seed 000: the Lambda functions behind the Movies and Devices REST APIs (stage ``beta``).

The seed's single-page app puts what the API returns into a ``div`` ("This should display the
message “Movie Info retrieved from Movie API.”"). The functions answer ``{"message": "…"}`` as JSON,
which the demo SPA shows as the message, with ``Access-Control-Allow-Origin: *`` so the browser lets
the page read it cross-origin (REST APIs add no CORS headers to proxy responses themselves).
"""

from __future__ import annotations

import json
from typing import Any

MOVIE_INFO = "Movie Info retrieved from Movie API"
DEVICE_INFO = "Device Info retrieved from Device API"


def _message(text: str) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"},
        "body": json.dumps({"message": text}),
    }


def movie_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``GET /movie`` (allowed by the custom authorizer for ``read:Movies``)."""
    return _message(MOVIE_INFO)


def device_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``GET /device`` (allowed by the custom authorizer for ``read:Devices``)."""
    return _message(DEVICE_INFO)
