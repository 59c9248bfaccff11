"""``gatehold explain``: why the running stack answered a request the way it did.

::

    gatehold explain GET /unicorns/unicorns -H "Authorization: Bearer $TOKEN"
    gatehold explain GET /unicorns --api unicorns -H "Authorization: Bearer $TOKEN" --json
    gatehold explain --request-id LV7fzho-PHcEJPw=

With a method and a path, the request is sent to the running stack's gateway (found through
``<data-dir>/stack.json``, written by ``gatehold up``) like any client's: it runs the authorizer and,
when allowed, the integration. Its request id (``apigw-requestid``, ``x-amzn-RequestId`` or
``x-amz-apigw-id``) is then looked up on the admin port (``GET /explain/<id>``), where each gateway
process keeps its last requests (:mod:`gatehold.gateway.explain`). ``--request-id`` explains a request
already made (an id from the access log or a response header) while it is still kept.

There is no offline mode: what a request meets (the issuer's keys, the authorizer result cache, the
functions) lives in the running stack, and a gateway built in this process would explain a
different one. Without a running stack the command says how to start one.

Exit status: 0 when the trace was printed, 1 when the stack does not keep the request (unknown id,
or dropped since), 2 on a usage error or when no stack runs.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click
import httpx
from rich.markup import escape

from gatehold.cli.common import (
    console,
    data_dir_option,
    err_console,
    load_or_exit,
)
from gatehold.stack_state import STACK_STATE, StackState, read_stack_state

#: how long the trace of a request just answered may take to be kept (it is kept once sent)
LOOKUP_WINDOW_S = 3.0
REQUEST_ID_HEADERS = ("apigw-requestid", "x-amzn-requestid", "x-amz-apigw-id")


def _fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    sys.exit(code)


def running_stack(data_dir: Path) -> StackState:
    """The stack ``gatehold up`` runs with this data directory, or exit 2 saying how to start one."""
    state = read_stack_state(data_dir)
    hint = "start one with `./gatehold up` (from a checkout; `gatehold up` when installed)"
    if data_dir != Path(".gatehold"):
        hint += f" --data-dir {data_dir}"
    if state is None:
        _fail(f"no running stack: {data_dir / STACK_STATE} does not exist; {hint}, or pass its --data-dir")
    if not state.running:
        _fail(
            f"no running stack: the stack of {data_dir / STACK_STATE} (pid {state.pid}) has stopped; {hint}"
        )
    if state.gateway_url is None or state.admin_url is None:
        _fail(
            "the running stack has no admin port (started with --admin-port 0, or by an older Gatehold): "
            "gatehold explain reads traces from it; start the stack again with an admin port"
        )
    return state


def _headers(values: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for item in values:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise click.BadParameter(f"{item!r} is not 'Name: value'", param_hint="-H")
        out.append((name.strip(), value.strip()))
    return out


def _query(values: tuple[str, ...]) -> list[tuple[str, str | int | float | bool | None]]:
    out: list[tuple[str, str | int | float | bool | None]] = []
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--query")
        out.append((key, value))
    return out


def _api_path(state: StackState, data_dir: Path, api: str, stage: str | None, path: str) -> str:
    """``path`` (a route's path) under the API's base path and stage, as a client calls it."""
    from gatehold.cli.describe import describe
    from gatehold.server import StackOptions

    opts = StackOptions(data_dir=data_dir, public_url=state.idp_url)
    loaded = load_or_exit(state.config_path, opts.variables(), state.options())
    views = {view.name: view for view in describe(loaded, "")}
    if api not in views:
        _fail(f"no API {api!r} in the running stack (APIs: {', '.join(views) or '-'})")
    stages = views[api].stages  # stage → invoke URL, here without the gateway's origin
    if stage is None:
        if len(stages) != 1:
            _fail(f"API {api!r} has the stages {', '.join(stages)}: pick one with --stage")
        stage = next(iter(stages))
    elif stage not in stages:
        _fail(f"API {api!r} has no stage {stage!r} (stages: {', '.join(stages)})")
    return stages[stage].rstrip("/") + (path if path.startswith("/") else "/" + path)


def _request_id(response: httpx.Response) -> str | None:
    for name in REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return str(value)
    return None


def fetch(admin_url: str, request_id: str, *, wait: float = 0.0) -> dict[str, Any] | None:
    """The explanation of ``request_id`` from the admin port; None when the stack does not keep it
    (asked again for ``wait`` seconds: a request just answered is kept once its response is sent)."""
    deadline = time.monotonic() + wait
    url = f"{admin_url.rstrip('/')}/explain/{request_id}"
    while True:
        try:
            response = httpx.get(url, timeout=10.0)
        except httpx.HTTPError as exc:
            _fail(f"cannot reach the stack's admin port ({admin_url}): {exc}")
        if response.status_code == 200:
            found: dict[str, Any] = response.json()
            return found
        if response.status_code != 404:
            _fail(f"GET {url} answered {response.status_code}: {response.text[:200]}")
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


@click.command()
@click.argument("method", required=False)
@click.argument("path", required=False)
@click.option("-H", "--header", "header", multiple=True, metavar="'NAME: VALUE'", help="A request header.")
@click.option("--query", multiple=True, metavar="KEY=VALUE", help="A query string parameter.")
@click.option("--data", "-d", default=None, metavar="BODY", help="The request body (@FILE reads a file).")
@click.option(
    "--api", default=None, help="PATH is a route's path in this API (its base path and stage added)."
)
@click.option("--stage", default=None, help="With --api: the stage (default: the API's only stage).")
@click.option(
    "--request-id", default=None, help="Explain a request already made (its id, while the stack keeps it)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@data_dir_option
def explain(
    method: str | None,
    path: str | None,
    header: tuple[str, ...],
    query: tuple[str, ...],
    data: str | None,
    api: str | None,
    stage: str | None,
    request_id: str | None,
    as_json: bool,
    data_dir: Path,
) -> None:
    """Send a request to the running stack (or name one it answered) and print why it was answered
    so: the route, the authorizer's checks, its cache entry, the policy statement that decided, and
    the response."""
    if request_id is None and (method is None or path is None):
        raise click.UsageError("give METHOD PATH (a request to send) or --request-id ID")
    if request_id is not None and method is not None:
        raise click.UsageError("give either METHOD PATH or --request-id, not both")
    state = running_stack(data_dir)
    gateway_url, admin_url = state.gateway_url or "", state.admin_url or ""
    if request_id is None:
        assert method is not None
        assert path is not None
        target = _api_path(state, data_dir, api, stage, path) if api else path
        body = data.encode() if data is not None else None
        if data is not None and data.startswith("@"):
            body = Path(data[1:]).read_bytes()
        try:
            response = httpx.request(
                method.upper(),
                gateway_url + (target if target.startswith("/") else "/" + target),
                headers=_headers(header),
                params=_query(query),
                content=body,
                timeout=60.0,
            )
        except httpx.HTTPError as exc:
            _fail(f"cannot reach the stack's gateway ({gateway_url}): {exc}")
        request_id = _request_id(response)
        if request_id is None:
            _fail(f"the response ({response.status_code}) carries no request id header")
        found = fetch(admin_url, request_id, wait=LOOKUP_WINDOW_S)
    else:
        found = fetch(admin_url, request_id)
    if found is None:
        _fail(
            f"the stack keeps no request {request_id!r}: unknown, or dropped since "
            "(each gateway process keeps its last 1,000 requests)",
            code=1,
        )
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
    else:
        print_explanation(found)


# --------------------------------------------------------------------------------------------------
# text
# --------------------------------------------------------------------------------------------------

_MARKS = {"pass": "[green]✓[/]", "fail": "[bold red]✗[/]", "skipped": "[dim]·[/]"}


def _line(label: str, text: str) -> None:
    console.print(f"[bold]{label:<11}[/]{text}", highlight=False)


def print_explanation(found: dict[str, Any]) -> None:
    """The explanation as readable text: the decisive lines first, the details indented."""
    request, response, decision = found["request"], found["response"], found["decision"]
    status = response["status"]
    colour = "green" if status < 400 else "red"
    query = f"?{request['query']}" if request.get("query") else ""
    console.print(
        f"[bold]{escape(request['method'])} {escape(request['path'] + query)}[/]  →  "
        f"[bold {colour}]{status}[/]   [dim](request {escape(found['requestId'])}, {found['time']})[/]",
        highlight=False,
    )
    console.print()
    route = found.get("route")
    if route is None:
        _line("Route", f"[red]none[/]: {escape(str(found.get('routeError') or 'no route matched'))}")
    else:
        _line(
            "Route",
            f"{escape(route['api'])} ({route['apiType']}, stage {escape(route['stage'])})  "
            f"[bold]{escape(route['routeKey'])}[/]  {escape(route['matched'])}",
        )
        _line("", f"[dim]methodArn[/] {escape(route['methodArn'])}")
    auth = found.get("authorizer")
    if route is not None and auth is None:
        _line("Authorizer", "none (an open route)")
    if auth is not None:
        _print_authorizer(auth)
    reason = f" — {escape(decision['reason'])}" if decision.get("reason") else ""
    kind = f" {decision['responseType']}" if decision.get("responseType") else ""
    error_type = f" ({decision['errorType']})" if decision.get("errorType") else ""
    _line("Decision", f"[bold {colour}]{decision['status']}{kind}[/]{error_type}{reason}")
    body = response.get("body")
    shown = "(streamed)" if response.get("streamed") else (body if body else "(empty)")
    _line("Response", f"{status} {escape(_one_line(shown))}")


def _print_authorizer(auth: dict[str, Any]) -> None:
    outcome = auth["outcome"]
    colour = "green" if outcome == "allow" else "red"
    _line("Authorizer", f"{escape(auth['name'])} ({escape(str(auth['type']))})  [bold {colour}]{outcome}[/]")
    for source in auth["identitySources"]:
        value = source["value"]
        shown = "[red](missing)[/]" if value is None else escape(_short(value))
        _line("", f"[dim]identity[/] {escape(source['expression'])} = {shown}")
    cache = auth.get("cache") or {}
    if cache.get("state"):
        parts = [f"{cache['kind']}: [bold]{cache['state']}[/]"]
        if cache.get("ttlLeft") is not None:
            parts.append(f"TTL left {cache['ttlLeft']} s")
        if cache.get("issuedFor"):
            parts.append(f"issued for {escape(cache['issuedFor'])}")
        if cache.get("note") and cache["kind"] != "verified tokens":
            parts.append(escape(cache["note"]))
        _line("", "[dim]cache[/] " + ", ".join(parts))
    if auth.get("warning"):
        console.print()
        console.print(f"[bold yellow]WARNING[/]    {escape(auth['warning'])}", highlight=False)
        console.print()
    for check in auth.get("checks") or []:
        mark = _MARKS.get(check["outcome"], "?")
        detail = escape(check["detail"]) if check["outcome"] != "skipped" else "[dim]not checked[/]"
        console.print(f"  {mark} {check['check']:<29}{detail}", highlight=False)
    policy = auth.get("policy")
    if policy:
        count = len(policy["statements"])
        _line(
            "Policy",
            f"{count} statement{'s' if count != 1 else ''}, judged for execute-api:Invoke on the methodArn",
        )
        for row in policy["statements"]:
            decided = row["index"] == policy.get("statement")
            action = row.get("Action", row.get("NotAction"))
            resource = row.get("Resource", row.get("NotResource"))
            marker = "[bold]→[/]" if decided else " "
            console.print(
                f"  {marker} [{row['index']}] {row['effect']:<5} {escape(_compact(action))}  "
                f"{escape(_compact(resource))}  [dim]{escape(row['why'])}[/]",
                highlight=False,
            )
    if auth.get("principalId") is not None:
        _line("", f"[dim]principalId[/] {escape(repr(auth['principalId']))}")


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _short(value: str, keep: int = 24) -> str:
    return value if len(value) <= 2 * keep + 1 else f"{value[:keep]}…{value[-8:]}"


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"
