"""A TOKEN authorizer for tests/gateway/test_redis_state.py: allows every method, and names its own
invocation in the context, so a test sees whether a result came from a cache or from a call."""

import uuid


def handler(event, context):
    if event["authorizationToken"] == "deny":
        raise Exception("Unauthorized")
    api = event["methodArn"].split("/")[0]
    return {
        "principalId": "user",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": api + "/*"}],
        },
        "context": {"invocation": uuid.uuid4().hex},
    }
