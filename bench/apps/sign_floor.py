"""S7's floor on Gatehold's server: read the POST body, one RS256 signature, a token-sized response.

No client authentication, no claims, no parameters: what ``POST /oauth/token`` would cost if the
identity provider's own work were free. Served by :func:`gatehold.server.serve` the way ``gatehold
up`` serves the identity provider (the gateway's HTTP/1.1 server running the ASGI app), or under
uvicorn + httptools on uvloop with ``uvicorn`` as the second argument.

    python -m bench.apps.sign_floor PORT [http1|uvicorn]
"""

from __future__ import annotations

import sys
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from gatehold import server

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_PKCS1V15, _SHA256 = padding.PKCS1v15(), hashes.SHA256()
_SIGNING_INPUT = b"e" * 600  # an access token's base64url header.payload
_BODY = b'{"access_token":"' + b"e" * 840 + b'","token_type":"Bearer"}'  # ~ the real response, 891 B
_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"cache-control", b"no-store"),
        (b"pragma", b"no-cache"),
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(_BODY)),
        (b"vary", b"Origin"),
    ],
}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    _KEY.sign(_SIGNING_INPUT, _PKCS1V15, _SHA256)
    await send(_START)
    await send({"type": "http.response.body", "body": _BODY})


if __name__ == "__main__":
    port = int(sys.argv[1])
    kind = sys.argv[2] if len(sys.argv) > 2 else "http1"
    listener = server.Listener("sign-floor", app, port, lifespan="off", server=kind)
    server.run(server.serve([listener], host="127.0.0.1"))
