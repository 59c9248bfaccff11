"""The floor under any Python HTTP server here: hello-world as a bare ``asyncio.Protocol`` on uvloop
with the httptools parser, the pieces the gateway's own server (gatehold.gateway.http1) is built
from, with no gateway in it (info next to S1, which is an ASGI hello-world).

    python -m bench.apps.raw_hello PORT
"""

from __future__ import annotations

import asyncio
import sys

import httptools
import uvloop

_BODY = b'{"message":"Hello, world!"}'
_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
    b"Connection: keep-alive\r\n\r\n%b" % (len(_BODY), _BODY)
)


class HelloProtocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.parser = httptools.HttpRequestParser(self)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_complete(self) -> None:
        self.transport.write(_RESPONSE)


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HelloProtocol, "127.0.0.1", port, backlog=4096)
    await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
