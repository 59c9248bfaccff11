"""The ``context`` object a handler receives, and the per-function settings it is built from.

:class:`LambdaContext` has the attributes of ``awslambdaric.lambda_context.LambdaContext``
(``aws_request_id``, ``function_name``, ``function_version``, ``memory_limit_in_mb``,
``invoked_function_arn``, ``log_group_name``, ``log_stream_name``, ``identity``, ``client_context``,
``get_remaining_time_in_millis()``, ``log()``). As in Lambda, ``memory_limit_in_mb`` is the *string*
read from ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE`` and ``identity`` is a ``CognitoIdentity`` whose two
fields are ``None`` for an API Gateway invocation; ``client_context`` is ``None``.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

FUNCTION_VERSION = "$LATEST"


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """One function's settings, resolved from the configuration (names as Lambda's API uses them)."""

    name: str
    handler: str
    code_path: Path | None
    timeout: float
    memory_size: int
    environment: dict[str, str]
    isolation: str
    concurrency: int | None
    region: str
    account_id: str
    runtime: str = "python"

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.name}"

    @property
    def execution_env(self) -> str:
        if self.runtime.startswith(("python3.", "nodejs")):
            return f"AWS_Lambda_{self.runtime}"
        return f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}"

    def lambda_environment(self, log_stream_name: str) -> dict[str, str]:
        """Lambda's reserved variables, then the function's own (which may not override them in AWS;
        here a function value wins, so a test can pin e.g. ``AWS_REGION``)."""
        env = {
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": FUNCTION_VERSION,
            "AWS_LAMBDA_LOG_GROUP_NAME": self.log_group_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EXECUTION_ENV": self.execution_env,
            "_HANDLER": self.handler,
            "LAMBDA_TASK_ROOT": str(self.code_path) if self.code_path else os.getcwd(),
            "TZ": ":UTC",
        }
        env.update(self.environment)
        return env


def new_log_stream_name(now: datetime | None = None) -> str:
    """``2024/01/15/[$LATEST]`` + 32 hex digits: one stream per execution environment."""
    day = (now or datetime.now(UTC)).strftime("%Y/%m/%d")
    return f"{day}/[{FUNCTION_VERSION}]{secrets.token_hex(16)}"


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self) -> None:
        self.cognito_identity_id: str | None = None
        self.cognito_identity_pool_id: str | None = None

    def __repr__(self) -> str:
        return (
            f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}])"
        )


@dataclass(slots=True)
class LambdaContext:
    """What ``handler(event, context)`` gets; ``deadline_ms`` is the epoch deadline in milliseconds."""

    aws_request_id: str
    function_name: str
    memory_limit_in_mb: str
    invoked_function_arn: str
    log_group_name: str
    log_stream_name: str
    deadline_ms: int
    function_version: str = FUNCTION_VERSION
    identity: CognitoIdentity = field(default_factory=CognitoIdentity)
    client_context: None = None

    def get_remaining_time_in_millis(self) -> int:
        remaining = self.deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def log(self, msg: str) -> None:
        sys.stdout.write(str(msg))

    @classmethod
    def for_invocation(
        cls, spec: FunctionSpec, request_id: str, log_stream_name: str, deadline_ms: int
    ) -> LambdaContext:
        return cls(
            aws_request_id=request_id,
            function_name=spec.name,
            memory_limit_in_mb=str(spec.memory_size),
            invoked_function_arn=spec.function_arn,
            log_group_name=spec.log_group_name,
            log_stream_name=log_stream_name,
            deadline_ms=deadline_ms,
        )
