"""Test Lambda handler: sleeps longer than the route's integration timeout."""

import time


def handler(event, context):
    time.sleep(1.5)
    return {"statusCode": 200, "body": "late"}
