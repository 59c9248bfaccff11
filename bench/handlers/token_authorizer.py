"""A minimal Lambda TOKEN authorizer for S5/S6: ``Bearer allow-<anything>`` is allowed, else Deny.

It does no cryptography on purpose: S5/S6 measure the gateway's authorizer path (invoke, policy
evaluation, result cache), not the authorizer's own work.
"""


def handler(event, context):
    token = event.get("authorizationToken") or ""
    effect = "Allow" if token.startswith("Bearer allow-") else "Deny"
    return {
        "principalId": "bench-user",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}],
        },
        "context": {"tier": "bench"},
    }
