"""A handler module whose import fails, like a Lambda with a missing dependency."""

import gatehold_no_such_dependency  # type: ignore[import-not-found]  # noqa: F401


def handler(event, context):  # type: ignore[no-untyped-def]
    return "unreachable"
