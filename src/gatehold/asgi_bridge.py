"""An ASGI app behind the gateway's HTTP/1.1 server (:mod:`gatehold.gateway.http1`).

``gatehold up`` serves the identity provider this way, so that its token endpoint does not pay
uvicorn's per-request protocol and ASGI cost (BENCHMARKS.md, S7): the server parses the request,
:class:`AsgiResponder` runs the app with an ASGI scope (HTTP spec 2.4: lowercase header names,
``path`` percent-decoded, ``raw_path`` as sent), gives it the whole body in one
``http.request`` message, collects its response and hands it back as one
:class:`~gatehold.gateway.model.GatewayResponse`, which the server writes in one ``write``.

Bodies have a limit, :attr:`AsgiResponder.max_body_bytes` (1 MiB unless given): the server never
keeps a longer body, and the bridge answers ``413`` (text, as the server's own refusals) without
calling the app, so an app never sees a prefix of a body as if it were the whole.

What it does not do, because the apps it serves (the identity provider) do not need it: streaming
a response as it is produced (the body is collected first), WebSockets, HTTP trailers. The app's
lifespan runs at :meth:`AsgiResponder.startup` / :meth:`AsgiResponder.aclose`, as uvicorn's
``lifespan="on"`` does, and its state is copied into each request's ``scope["state"]``.

An app may also offer *shortcuts*: ``app.http1_shortcuts()`` returning ``{(method, path): handler}``,
``await handler(headers, body) -> (status, headers, body)`` with headers as the client wrote them.
A request for exactly that method and path (no query string) skips the ASGI scope and messages.
The identity provider's ``POST /oauth/token`` is one: its cost is the cost of S7.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

from gatehold.gateway.integrations.base import StreamedResponse
from gatehold.gateway.model import GatewayResponse

log = logging.getLogger("gatehold.server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Shortcut = Callable[[list[tuple[str, str]], bytes], Awaitable[tuple[int, list[tuple[str, str]], bytes]]]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]

_ASGI = {"version": "3.0", "spec_version": "2.4"}
#: the largest request body handed to the app unless the responder is told otherwise: the identity
#: provider's forms and JSON bodies are a few KB (its token endpoint refuses more than 64 KB itself)
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def _server_error() -> GatewayResponse:
    """500, as uvicorn answers an app that failed before its response started."""
    return GatewayResponse(500, [("Content-Type", "text/plain; charset=utf-8")], b"Internal Server Error")


def _too_large() -> GatewayResponse:
    """413 for a body over the limit (the app is not called)."""
    return GatewayResponse(413, [("Content-Type", "text/plain; charset=utf-8")], b"Request Entity Too Large")


class AsgiAnswer:
    """What :meth:`AsgiResponder.respond` returns: the collected response (``done`` is a no-op:
    the app logs for itself)."""

    __slots__ = ("response",)

    def __init__(self, response: GatewayResponse) -> None:
        self.response: GatewayResponse | StreamedResponse = response

    def done(self) -> None:
        pass


class AsgiResponder:
    """``AsgiResponder(app)``: the face :class:`~gatehold.gateway.http1.GatewayHttpServer` expects
    (``respond``, ``invalid_response``, ``aclose``) for an ASGI ``app``."""

    def __init__(
        self, app: ASGIApp, *, lifespan: bool = True, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    ) -> None:
        self.app = app
        self.lifespan = lifespan
        self.max_body_bytes = max_body_bytes
        offer = getattr(app, "http1_shortcuts", None)
        self.shortcuts: dict[tuple[str, str], Shortcut] = dict(offer()) if callable(offer) else {}
        self.state: dict[str, Any] = {}
        self._lifespan_task: asyncio.Task[None] | None = None
        self._lifespan_inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._lifespan_outbox: asyncio.Queue[Message] = asyncio.Queue()

    # -- lifespan -----------------------------------------------------------------------------------

    async def startup(self) -> None:
        """Run the app's lifespan startup; raises ``RuntimeError`` when the app reports a failure."""
        if not self.lifespan:
            return
        scope = {"type": "lifespan", "asgi": _ASGI, "state": self.state}

        async def run() -> None:
            try:
                await self.app(scope, self._lifespan_inbox.get, self._lifespan_outbox.put)
            except Exception as exc:  # an app without lifespan support raises on the scope type
                await self._lifespan_outbox.put({"type": "gatehold.lifespan.error", "error": exc})

        self._lifespan_task = asyncio.create_task(run())
        await self._lifespan_inbox.put({"type": "lifespan.startup"})
        message = await self._lifespan_outbox.get()
        if message["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"application startup failed: {message.get('message', '')}")
        if message["type"] == "gatehold.lifespan.error":
            log.debug("ASGI app without lifespan: %s", message["error"])
            self._lifespan_task = None

    async def aclose(self) -> None:
        """Run the app's lifespan shutdown (after the server has drained its connections)."""
        task, self._lifespan_task = self._lifespan_task, None
        if task is None or task.done():
            return
        await self._lifespan_inbox.put({"type": "lifespan.shutdown"})
        try:
            message = await asyncio.wait_for(self._lifespan_outbox.get(), 10)
        except TimeoutError:
            task.cancel()
            return
        if message["type"] == "lifespan.shutdown.failed":
            log.error("application shutdown failed: %s", message.get("message", ""))

    # -- requests -------------------------------------------------------------------------------------

    async def respond(
        self,
        method: str,
        full_path: str,
        query_string: str,
        headers: list[tuple[str, str]],
        body: bytes,
        *,
        source_ip: str,
        protocol: str = "HTTP/1.1",
        scheme: str = "http",
        server: tuple[str, int] | None = None,
        body_too_large: bool = False,
    ) -> AsgiAnswer:
        """Run the app for one request and collect its response; ``413`` without the app when the
        body was over :attr:`max_body_bytes` (``body_too_large``, or a longer ``body``)."""
        if body_too_large or len(body) > self.max_body_bytes:
            return AsgiAnswer(_too_large())
        if self.shortcuts and not query_string:
            shortcut = self.shortcuts.get((method, full_path))
            if shortcut is not None:
                status, out, content = await shortcut(headers, body)
                return AsgiAnswer(GatewayResponse(status, out, content))
        scope = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": protocol[5:],
            "method": method,
            "scheme": scheme,
            "path": unquote(full_path),
            "raw_path": full_path.encode("latin-1"),
            "query_string": query_string.encode("latin-1"),
            "root_path": "",
            "headers": [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers],
            "client": (source_ip, 0),
            "server": server,
            "state": self.state.copy(),
        }
        received = False
        finished = asyncio.Event()

        async def receive() -> Message:
            nonlocal received
            if not received:
                received = True
                return {"type": "http.request", "body": body, "more_body": False}
            await finished.wait()  # the client is gone only once the response is out
            return {"type": "http.disconnect"}

        status = 0
        out_headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []

        async def send(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                out_headers.extend(
                    (n.decode("latin-1"), v.decode("latin-1")) for n, v in message.get("headers", ())
                )
            elif kind == "http.response.body":
                chunk = message.get("body", b"")
                if chunk:
                    chunks.append(chunk)

        try:
            await self.app(scope, receive, send)
        except Exception:  # nothing is sent yet (the response is collected): a clean 500
            log.exception("ASGI application error")
            return AsgiAnswer(_server_error())
        finally:
            finished.set()
        if not status:
            log.error("ASGI application returned without a response")
            return AsgiAnswer(_server_error())
        return AsgiAnswer(
            GatewayResponse(status, out_headers, chunks[0] if len(chunks) == 1 else b"".join(chunks))
        )

    def invalid_response(self, answer: object) -> GatewayResponse:
        """A response header the server cannot write (CR, LF or NUL): 500."""
        log.error("ASGI application sent a header with CR, LF or NUL")
        return _server_error()
