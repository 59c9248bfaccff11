"""What every function's environment gets when the stack has tables (docs/dynamodb.md, "Reaching the
tables"), so that handlers reach the local endpoint unchanged:

=============================  ======================================================================
``AWS_ENDPOINT_URL_DYNAMODB``  the endpoint: boto3 >= 1.28 and the AWS SDK for JavaScript v3 read it
                               (service-specific, so S3, SQS … calls go where they went before)
``AWS_ACCESS_KEY_ID``,         ``local``: the SDKs sign every request and need credentials; these
``AWS_SECRET_ACCESS_KEY``      never leave the machine (a developer's own keys are not sent)
``NODE_OPTIONS``               ``--require …/aws_sdk_v2.cjs`` added to what was there: the SDK for
                               JavaScript v2 reads no endpoint from the environment; this preload
                               sets ``AWS.config.dynamodb.endpoint`` once ``aws-sdk`` loads
=============================  ======================================================================

``AWS_REGION`` and ``AWS_DEFAULT_REGION`` are Lambda's own variables (the gateway's region), set here
too so that code a handler module runs at import in the gateway's process (``in-process``
isolation) finds them. A variable a function sets in its own ``environment`` wins over all of these,
as over the process's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

SDK_V2_PRELOAD = Path(__file__).resolve().parent / "aws_sdk_v2.cjs"
#: the credentials handlers sign with (the local engine checks none)
LOCAL_ACCESS_KEY = "local"
LOCAL_SECRET_KEY = "local"


def node_options(existing: str | None) -> str:
    """``NODE_OPTIONS`` with the SDK v2 preload added (once)."""
    path = str(SDK_V2_PRELOAD)
    option = f'--require "{path}"' if " " in path else f"--require {path}"
    if existing and path in existing:
        return existing
    return f"{existing} {option}" if existing else option


def handler_environment(endpoint: str, process_env: Mapping[str, str], region: str) -> dict[str, str]:
    """The variables set in the gateway's processes (every function inherits them); ``process_env``
    is the environment they start from (its ``NODE_OPTIONS`` is kept)."""
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_KEY,
        "NODE_OPTIONS": node_options(process_env.get("NODE_OPTIONS")),
    }
