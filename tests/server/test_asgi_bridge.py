"""An ASGI app (Starlette) behind the gateway's HTTP/1.1 server through `AsgiResponder`, as
`gatehold up` serves the identity provider: the scope the app sees, bodies, headers on the wire,
errors and the lifespan. Real server on loopback, httpx and raw sockets."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from gatehold.asgi_bridge import AsgiResponder
from tests.gateway.conftest import GatewayServerThread

LIFESPAN: list[str] = []


async def echo(request: Request) -> Response:
    form = dict(await request.form()) if request.method == "POST" else {}
    return JSONResponse(
        {
            "path": request.scope["path"],
            "raw_path": request.scope["raw_path"].decode(),
            "query": request.scope["query_string"].decode(),
            "method": request.method,
            "headers": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
            "form": form,
            "client": request.client.host if request.client else None,
            "started": request.app.state.started,
        }
    )


async def cookies(request: Request) -> Response:
    response = PlainTextResponse("two cookies")
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    return response


async def redirect(request: Request) -> Response:
    return RedirectResponse("/there?x=1", status_code=302)


async def boom(request: Request) -> Response:
    raise RuntimeError("the app failed")


async def injected(request: Request) -> Response:
    return PlainTextResponse("x", headers={"x-bad": "a\r\nSet-Cookie: evil=1"})


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.started = True
    LIFESPAN.append("startup")
    yield
    LIFESPAN.append("shutdown")


APP = Starlette(
    routes=[
        Route("/echo/{rest:path}", echo, methods=["GET", "POST", "HEAD"]),
        Route("/cookies", cookies),
        Route("/redirect", redirect),
        Route("/boom", boom),
        Route("/injected", injected),
    ],
    lifespan=lifespan,
)


@pytest.fixture(scope="module")
def served() -> Iterator[GatewayServerThread]:
    LIFESPAN.clear()
    server = GatewayServerThread(AsgiResponder(APP))  # type: ignore[arg-type]
    with server:
        yield server
    assert LIFESPAN == ["startup", "shutdown"]


def test_scope_path_is_decoded_raw_path_is_not(served: GatewayServerThread) -> None:
    body = httpx.get(f"{served.url}/echo/a%20b/%2Fc?q=1%202&r=").json()
    assert body["path"] == "/echo/a b//c"
    assert body["raw_path"] == "/echo/a%20b/%2Fc"
    assert body["query"] == "q=1%202&r="
    assert body["client"] == "127.0.0.1"


def test_header_names_are_lowercase_in_the_scope(served: GatewayServerThread) -> None:
    body = httpx.get(f"{served.url}/echo/x", headers={"X-MiXeD": "Value"}).json()
    assert ["x-mixed", "Value"] in body["headers"]


def test_lifespan_ran_before_the_first_request(served: GatewayServerThread) -> None:
    assert httpx.get(f"{served.url}/echo/x").json()["started"] is True
    assert LIFESPAN == ["startup"]


def test_form_post_reaches_the_app(served: GatewayServerThread) -> None:
    response = httpx.post(f"{served.url}/echo/form", data={"grant_type": "client_credentials", "x": "1 2"})
    assert response.status_code == 200
    assert response.json()["form"] == {"grant_type": "client_credentials", "x": "1 2"}


def test_every_set_cookie_is_its_own_line(served: GatewayServerThread) -> None:
    response = httpx.get(f"{served.url}/cookies")
    assert response.headers.get_list("set-cookie") == [
        "a=1; Path=/; SameSite=lax",
        "b=2; Path=/; SameSite=lax",
    ]
    assert response.text == "two cookies"


def test_redirect_keeps_status_and_location(served: GatewayServerThread) -> None:
    response = httpx.get(f"{served.url}/redirect")
    assert (response.status_code, response.headers["location"]) == (302, "/there?x=1")


@pytest.mark.parametrize("path", ["/boom", "/injected"], ids=["app raises", "header with CR LF"])
def test_failures_are_500_and_the_connection_stays_usable(served: GatewayServerThread, path: str) -> None:
    with httpx.Client(base_url=served.url) as client:
        response = client.get(path)
        assert (response.status_code, response.text) == (500, "Internal Server Error")
        assert "evil" not in response.headers.get("set-cookie", "")
        assert client.get("/echo/after").status_code == 200


def test_one_response_on_the_wire_with_the_servers_framing(served: GatewayServerThread) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(b"GET /cookies HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    names = [line.split(":", 1)[0].lower() for line in lines[1:]]
    assert names.count("content-length") == 1
    assert "connection: close" in [line.lower() for line in lines]
    assert body == b"two cookies"


def test_app_without_lifespan_support_still_serves() -> None:
    async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError("no lifespan here")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with GatewayServerThread(AsgiResponder(bare)) as server:  # type: ignore[arg-type]
        response = httpx.get(server.url + "/")
        assert (response.status_code, response.content) == (204, b"")


class WithShortcut:
    """An ASGI app that also offers ``POST /fast`` as a shortcut (as the identity provider offers
    ``POST /oauth/token``)."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError("no lifespan here")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-via", b"asgi")]})
        await send({"type": "http.response.body", "body": scope["path"].encode()})

    def http1_shortcuts(self) -> dict[tuple[str, str], Any]:
        async def fast(
            headers: list[tuple[str, str]], body: bytes
        ) -> tuple[int, list[tuple[str, str]], bytes]:
            agent = next(v for n, v in headers if n.lower() == "x-client")
            return 201, [("X-Via", "shortcut")], body + b"|" + agent.encode()

        return {("POST", "/fast"): fast}


@pytest.mark.parametrize(
    ("method", "target", "expected"),
    [
        pytest.param("POST", "/fast", (201, "shortcut", b"payload|Me"), id="shortcut"),
        pytest.param("POST", "/fast?x=1", (200, "asgi", b"/fast"), id="query string: the app"),
        pytest.param("GET", "/fast", (200, "asgi", b"/fast"), id="other method: the app"),
        pytest.param("POST", "/other", (200, "asgi", b"/other"), id="other path: the app"),
    ],
)
def test_shortcuts_answer_exactly_their_method_and_path(
    method: str, target: str, expected: tuple[int, str, bytes]
) -> None:
    with GatewayServerThread(AsgiResponder(WithShortcut())) as server:  # type: ignore[arg-type]
        response = httpx.request(method, server.url + target, content=b"payload", headers={"X-Client": "Me"})
        assert (response.status_code, response.headers["x-via"], response.content) == expected


def test_an_app_failing_after_its_response_started_gets_a_clean_500() -> None:
    """The bridge collects the response before anything is written: a failure half-way is a 500,
    never a truncated 200."""

    async def half(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError("no lifespan here")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        raise RuntimeError("failed half-way")

    with GatewayServerThread(AsgiResponder(half)) as server:  # type: ignore[arg-type]
        response = httpx.get(server.url + "/")
        assert (response.status_code, response.text) == (500, "Internal Server Error")


@pytest.mark.parametrize(
    ("framing", "size"),
    [
        pytest.param("length", 1001, id="content-length-over"),
        pytest.param("chunked", 1001, id="chunked-over"),
        pytest.param("length", 5_000_000, id="far-over"),
    ],
)
def test_body_over_the_limit_is_413_and_the_app_never_sees_it(framing: str, size: int) -> None:
    """Over ``max_body_bytes`` the bridge answers 413 without calling the app: never a prefix of
    the body passed on as if it were the whole. The connection serves the next request."""
    seen: list[int] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError("no lifespan here")
        message = await receive()
        seen.append(len(message["body"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"%d" % len(message["body"])})

    body = b"x" * size
    framed = (
        b"Content-Length: %d\r\n\r\n%b" % (size, body)
        if framing == "length"
        else b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%b\r\n0\r\n\r\n" % (size, body)
    )
    responder = AsgiResponder(app, max_body_bytes=1000)  # type: ignore[arg-type]
    with (
        GatewayServerThread(responder) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock,
    ):
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\n" + framed)
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"y" * 1000)
        raw = b""
        while raw.count(b"HTTP/1.1 ") < 2 or not raw.endswith(b"1000"):
            chunk = sock.recv(65536)
            assert chunk, raw
            raw += chunk
    first, second = raw.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"413 ")
    assert first.endswith(b"\r\n\r\nRequest Entity Too Large")
    assert second.startswith(b"200 ")
    assert seen == [1000]
