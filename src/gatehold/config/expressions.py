"""API Gateway's small expression languages, parsed once at load (no gateway imports: the gateway
compiles what these accept).

* CORS ``allowOrigins`` entries: an origin, ``*``, ``https://*`` or ``http://*``
  (docs/aws-reference.md §4.4);
* gateway-response header values: ``'static'``, ``method.request.{header,querystring,path}.NAME``,
  ``context.NAME``, ``stageVariables.NAME`` (§6);
* gateway-response types: AWS's names plus ``DEFAULT_4XX`` / ``DEFAULT_5XX``.
"""

from __future__ import annotations

import re

from gatehold.errors import GatewayResponseType

GATEWAY_RESPONSE_TYPES = frozenset({t.name for t in GatewayResponseType} | {"DEFAULT_4XX", "DEFAULT_5XX"})

SCHEME_WILDCARDS = ("http://*", "https://*")


def validate_origin_pattern(origin: str) -> None:
    """Raise ValueError for an ``allow_origins`` entry API Gateway would not accept."""
    if origin == "*" or origin in SCHEME_WILDCARDS:
        return
    if "*" in origin:
        raise ValueError(f"allow_origins entry {origin!r}: wildcards are '*', 'https://*' or 'http://*' only")
    if "://" not in origin or origin.endswith("/"):
        raise ValueError(f"allow_origins entry {origin!r} must be an origin like 'https://app.example.com'")


_HEADER_SOURCE = re.compile(
    r"^(?:'(?P<static>[^']*)'"
    r"|method\.request\.(?P<part>header|querystring|multivaluequerystring|path)\.(?P<pname>[^\s]+)"
    r"|\$?(?P<scope>context|stageVariables)\.(?P<vname>[A-Za-z0-9_.-]+))$"
)


def parse_header_source(expression: str) -> tuple[str, str]:
    """``"'*'"`` → ``("static", "*")``; ``"method.request.header.Origin"`` → ``("header", "Origin")``.

    Raises ValueError for anything API Gateway would not accept as a gateway-response header value.
    """
    m = _HEADER_SOURCE.match(expression.strip())
    if m is None:
        raise ValueError(
            f"gateway response header value {expression!r} must be a single-quoted literal (\"'value'\"), "
            "method.request.{header,querystring,path}.NAME, context.NAME or stageVariables.NAME"
        )
    if m.group("static") is not None:
        return ("static", m.group("static"))
    if m.group("part") is not None:
        part = m.group("part")
        return ("querystring" if part == "multivaluequerystring" else part, m.group("pname"))
    return (m.group("scope"), m.group("vname"))
