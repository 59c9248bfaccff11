"""A local stand-in for the PetStore backend behind AWS's example API (no external calls).

    python examples/openapi-petstore/backend.py [--port 8088]

It answers what AWS's developer guide shows the demo endpoint
``http://petstore-demo-endpoint.execute-api.com/petstore/pets`` answering (pages
``api-gateway-create-api-step-by-step`` and ``api-gateway-create-api-as-simple-proxy-for-http``):

* ``GET /petstore/pets`` → ``[{"id":1,"type":"dog","price":249.99},{"id":2,"type":"cat","price":124.99},
  {"id":3,"type":"fish","price":0.99}]``; ``?type=fish`` → the same ids and prices, all of that type;
  ``?type=cat&page=2`` → ``[{"id":4,"type":"cat","price":999.99},{"id":5,"type":"cat","price":249.99},
  {"id":6,"type":"cat","price":49.97}]``;
* ``GET /petstore/pets/1`` → ``{"id":1,"type":"dog","price":249.99}``;
* ``POST /petstore/pets`` with ``{"type":"dog","price":249.99}`` →
  ``{"pet":{"type":"dog","price":249.99},"message":"success"}``;
* anything else, ``GET /petstore`` included → 404 ``Cannot GET /petstore`` (the demo endpoint is an
  Express application).

Beyond what AWS shows (a choice, not a recording): pages other than 1 use page 2's prices, ids
continue three per page, a page without ``type`` cycles dog, cat, fish, and ``/pets/N`` is the pet
with id N in those lists.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PRICES = {1: [249.99, 124.99, 0.99], 2: [999.99, 249.99, 49.97]}
TYPES = ["dog", "cat", "fish"]


def pets(page: int, pet_type: str | None) -> list[dict[str, Any]]:
    prices = PRICES[1] if page == 1 else PRICES[2]
    first = 3 * (page - 1) + 1
    return [{"id": first + i, "type": pet_type or TYPES[i], "price": price} for i, price in enumerate(prices)]


def pet(pet_id: int) -> dict[str, Any]:
    page = (pet_id - 1) // 3 + 1
    return pets(page, None)[(pet_id - 1) % 3]


class PetStoreBackend(BaseHTTPRequestHandler):
    server_version = "petstore-stub"

    def _send(self, status: int, body: bytes, content_type: str = "application/json; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, value: Any) -> None:
        self._send(200, json.dumps(value, separators=(",", ":")).encode())

    def _not_found(self) -> None:
        self._send(
            404, f"Cannot {self.command} {urlsplit(self.path).path}".encode(), "text/html; charset=utf-8"
        )

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = [p for p in url.path.split("/") if p]
        if parts == ["petstore", "pets"]:
            page = query.get("page", ["1"])[-1]
            self._json(
                pets(int(page) if page.isdigit() and int(page) > 0 else 1, query.get("type", [None])[-1])
            )
        elif (
            len(parts) == 3 and parts[:2] == ["petstore", "pets"] and parts[2].isdigit() and int(parts[2]) > 0
        ):
            self._json(pet(int(parts[2])))
        else:
            self._not_found()

    def do_POST(self) -> None:
        if urlsplit(self.path).path.rstrip("/") != "/petstore/pets":
            self._not_found()
            return
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            new_pet = json.loads(raw or b"{}")
        except ValueError:
            self._send(400, b'{"message":"invalid JSON"}')
            return
        self._json({"pet": new_pet, "message": "success"})

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the gateway logs every request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), PetStoreBackend)
    print(f"PetStore backend on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
