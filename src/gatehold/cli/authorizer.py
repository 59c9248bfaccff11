"""``gatehold authorizer test``: run an authorizer function on an event file and judge its result.

Like the seeds' ``npm test`` with lambda-local (auth0-samples/jwt-rsa-aws-custom-authorizer): the
function runs in Gatehold's Lambda runtime with its configured environment, the result is printed,
and then judged exactly as the gateway would for ``--method-arn`` (default: the event's
``methodArn``/``routeArn``): the IAM policy evaluation, and the response a client would get.

::

    gatehold authorizer test --api petstore --authorizer jwt-rsa-custom-authorizer --event event.json
    gatehold authorizer test --function auth0-custom-authorizer --event e.json \\
        --method-arn arn:aws:execute-api:us-east-1:123456789012:abc/beta/GET/device

Exit status: 0 when the request would be allowed, 1 when refused (401 / 403 / 500), 2 on a
configuration or usage error.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click
import orjson

from gatehold.cli.common import config_option, console, err_console, load_or_exit
from gatehold.config.loader import LoadedConfig
from gatehold.gateway.authorizers.lambda_ import AuthorizerOutputError, parse_authorizer_output
from gatehold.gateway.authorizers.outcomes import IMPLICIT_DENY_MESSAGE
from gatehold.gateway.authorizers.policy import PolicyError, evaluate
from gatehold.runtime.contract import InvocationResult


@click.group()
def authorizer() -> None:
    """Run and judge Lambda authorizers."""


def _resolve(
    loaded: LoadedConfig, api_name: str | None, authorizer_name: str | None, function_name: str | None
) -> tuple[str, str, str, bool]:
    """``(function, api type, payload version, simple responses)``."""
    apis = loaded.config.apis
    if authorizer_name is not None:
        candidates = [
            (name, api)
            for name, api in apis.items()
            if authorizer_name in api.authorizers and (api_name is None or name == api_name)
        ]
        if len(candidates) != 1:
            raise click.UsageError(
                f"authorizer {authorizer_name!r} is defined in {len(candidates)} APIs; name one with --api"
            )
        _, api = candidates[0]
        auth = api.authorizers[authorizer_name]
        if auth.function is None:
            raise click.UsageError(
                f"authorizer {authorizer_name!r} is a {auth.type} authorizer with no function"
            )
        version = auth.payload_format_version or ("2.0" if api.type == "HTTP" else "1.0")
        return auth.function, api.type, version, auth.enable_simple_responses
    if function_name is None:
        raise click.UsageError("give --authorizer (with --api if needed) or --function")
    if function_name not in loaded.config.functions:
        raise click.UsageError(f"no function {function_name!r} in the configuration")
    return function_name, "REST", "1.0", False


async def _invoke(loaded: LoadedConfig, function: str, event: Any) -> InvocationResult:
    from gatehold.runtime import build_invoker

    invoker = build_invoker(loaded, prewarm=False)  # one invocation of one function
    try:
        return await invoker.invoke(function, event, request_id="authorizer-test", deadline_s=30.0)
    finally:
        await invoker.aclose()


def judge(
    result: InvocationResult,
    *,
    api_type: str,
    version: str,
    simple: bool,
    method_arn: str,
    loaded: LoadedConfig,
) -> tuple[bool, str]:
    """The gateway's verdict on an invocation result: ``(allowed, explanation)``."""
    settings = loaded.config.gateway
    rest = api_type == "REST"
    server_error = '500 {"message": null}' if rest else '500 {"message":"Internal Server Error"}'
    if result.integration_timeout:
        return False, f"the function timed out → {server_error}"
    if result.error is not None:
        message = result.error.get("errorMessage")
        if message == "Unauthorized":
            return False, 'the function failed with "Unauthorized" → 401 {"message":"Unauthorized"}'
        return False, f"the function failed ({message!r}) → {server_error}"
    try:
        parsed = parse_authorizer_output(result.payload, api_type=api_type, version=version, simple=simple)
        if parsed.is_authorized is not None:
            if parsed.is_authorized:
                return True, "isAuthorized: true → the request goes on to the integration"
            return False, 'isAuthorized: false → 403 {"message":"Forbidden"}'
        decision = evaluate(parsed.policy_document, method_arn)
    except (AuthorizerOutputError, PolicyError) as exc:
        return False, f"not a valid authorizer result ({exc}) → {server_error}"
    where = ""
    if decision.statement is not None:
        where = f" by Statement[{decision.statement_index}] {json.dumps(decision.statement)}"
    if decision.allowed:
        return True, f"Allow{where} → the request goes on to the integration"
    if not rest:
        return False, f'{decision.outcome}{where} → 403 {{"message":"Forbidden"}}'
    message = settings.explicit_deny_message if decision.outcome == "explicit-deny" else IMPLICIT_DENY_MESSAGE
    body = orjson.dumps({settings.deny_message_key: message}).decode()
    return False, f"{decision.outcome}{where} → 403 {body}"


@authorizer.command("test")
@config_option
@click.option("--api", "api_name", help="API whose authorizer to run")
@click.option("--authorizer", "authorizer_name", help="authorizer name (its function is run)")
@click.option("--function", "function_name", help="run this function as a REST TOKEN/REQUEST authorizer")
@click.option(
    "--event",
    "event_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="the authorizer input event (JSON), like the sample's event.json",
)
@click.option(
    "--method-arn", help="judge the result for this ARN (default: the event's methodArn / routeArn)"
)
@click.option(
    "--idp-url", help="base URL of the identity provider for ${idp_url} (default: the `up` default)"
)
def test(
    config_path: Path | None,
    api_name: str | None,
    authorizer_name: str | None,
    function_name: str | None,
    event_path: Path,
    method_arn: str | None,
    idp_url: str | None,
) -> None:
    """Run an authorizer function on an event file; print its result and the gateway's decision."""
    from gatehold.server import StackOptions

    variables = StackOptions().variables()
    if idp_url:
        variables["idp_url"] = idp_url.rstrip("/")
        variables["issuer"] = idp_url.rstrip("/") + "/"
    loaded = load_or_exit(config_path, variables)
    function, api_type, version, simple = _resolve(loaded, api_name, authorizer_name, function_name)
    try:
        event = json.loads(event_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        err_console.print(f"[red]cannot read the event file:[/] {exc}")
        sys.exit(2)
    arn = method_arn or (event.get("methodArn") or event.get("routeArn") if isinstance(event, dict) else None)
    result = asyncio.run(_invoke(loaded, function, event))
    console.print(f"Function {function} ({result.duration_ms:.0f} ms)")
    console.print("Message\n-------", markup=False)
    shown = result.error if result.error is not None else result.payload
    console.print(json.dumps(shown, indent=4), markup=False)
    if not arn:
        err_console.print("no --method-arn and no methodArn/routeArn in the event: nothing to judge")
        sys.exit(2)
    allowed, explanation = judge(
        result, api_type=api_type, version=version, simple=simple, method_arn=arn, loaded=loaded
    )
    console.print(f"\nDecision for {arn}:", markup=False)
    console.print(f"  {explanation}", markup=False, style="green" if allowed else "red")
    sys.exit(0 if allowed else 1)
