"""Test Lambda handler: always raises."""


def handler(event, context):
    raise RuntimeError("handler exploded: secret detail that must not reach the client")
