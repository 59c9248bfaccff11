"""Seed 000's Auth0 rule, as its authorizer's printed lines need it.

The rule of the tutorial's first part gives users who log in with Amazon the scope ``read:Movies`` and
users who log in with Google ``read:Devices``, for the streaming API only, by setting the access
token's scope (``context.accessToken.scope = [...]`` in an Auth0 rule *replaces* the scopes). The
authorizer compares ``decoded.scope == "read:Movies"``, so the token carries that one scope and no
other (the Python port of the example stack checks that the scope is among the token's instead).
"""

from __future__ import annotations

from typing import Any

STREAMING_AUDIENCE = "https://StreamingResourceServer"
SCOPE_BY_CONNECTION = {"amazon": "read:Movies", "google": "read:Devices"}


def post_login(event: dict[str, Any], api: Any) -> None:
    if event["resource_server"].get("identifier") != STREAMING_AUDIENCE:
        return
    scope = SCOPE_BY_CONNECTION.get(event["connection"]["name"])
    if scope is None:
        return
    for requested in event["transaction"]["requested_scopes"]:
        api.access_token.remove_scope(requested)
    api.access_token.add_scope(scope)
