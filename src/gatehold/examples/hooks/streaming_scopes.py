"""Seed 000's Auth0 rule as a post-login hook.

The streaming tutorial's rule gives users who log in with Amazon the ``read:Movies`` scope and
users who log in with Google the ``read:Devices`` scope, for the streaming API
(``https://StreamingResourceServer``) only.
"""

from __future__ import annotations

from typing import Any

STREAMING_AUDIENCE = "https://StreamingResourceServer"
SCOPE_BY_CONNECTION = {"amazon": "read:Movies", "google": "read:Devices"}


def post_login(event: dict[str, Any], api: Any) -> None:
    if event["resource_server"].get("identifier") != STREAMING_AUDIENCE:
        return
    scope = SCOPE_BY_CONNECTION.get(event["connection"]["name"])
    if scope is not None:
        api.access_token.add_scope(scope)
