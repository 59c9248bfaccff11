"""A post-login hook (like an Auth0 Action) for docs/configuration.md."""

from __future__ import annotations

from typing import Any


def post_login(event: dict[str, Any], api: Any) -> None:
    if event["connection"]["name"] == "partners":
        api.access_token.add_scope("read:orders")
    api.access_token.set_custom_claim("https://example.com/email", event["user"].get("email"))
