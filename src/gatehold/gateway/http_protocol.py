"""uvicorn's httptools protocol, keeping the client's header-name casing for the gateway.

ASGI servers lowercase header names (ASGI HTTP spec), but API Gateway keeps the client's casing in
payload 1.0 ``headers`` / ``multiValueHeaders`` (docs/aws-reference.md §2.1: ``tEsT-HEADeR`` arrives as
written). :class:`CasePreservingHttpToolsProtocol` records each name as it came off the wire and
exposes the list in the scope, in the same order as ``scope["headers"]``::

    scope["extensions"]["gatehold.raw_header_names"] == [b"Host", b"tEsT-HEADeR", ...]

``scope["headers"]`` itself stays lowercase, as ASGI requires. The gateway uses the raw names when the
extension is present and the lowercase ones otherwise (any other server).

Use it with ``uvicorn.Config(app, http=CasePreservingHttpToolsProtocol, ...)``. The cost is one list
and one dict per request and one ``append`` per header: about 0.4-0.5 µs per request with seven
headers, measured by feeding the parser in-process (uvicorn 0.54, httptools 0.9).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gatehold.gateway.events import RAW_HEADER_NAMES

__all__ = ["RAW_HEADER_NAMES", "CasePreservingHttpToolsProtocol"]


class CasePreservingHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` that also records the original header names (module docstring)."""

    _raw_header_names: list[bytes]

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._raw_header_names = []
        scope: Any = self.scope  # HTTPScope has no "extensions" key in uvicorn's TypedDict
        scope["extensions"] = {RAW_HEADER_NAMES: self._raw_header_names}

    def on_header(self, name: bytes, value: bytes) -> None:
        # HttpToolsProtocol.on_header inlined (uvicorn 0.30+): one call per header on the hot path.
        self._raw_header_names.append(name)
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))
