"""Provision seed 002's Unicorns route on a running MiniStack through its AWS APIs (boto3).

Run with MiniStack's own venv (bench/peers/ministack-venv/bin/python, which has boto3):

    python bench/ministack_provision.py ENDPOINT ISSUER HANDLER_FILE

Creates: the Lambda ``get-unicorn`` (python3.11, the same handler file every target runs), an HTTP
API with a JWT authorizer (issuer ISSUER, audience https://unicorns-api), the route
``GET /unicorn`` with scope ``read:unicorn``, a Lambda proxy integration (payload 2.0) and the
``$default`` stage. Prints one JSON line: ``{"api_id": ..., "url": ...}``.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import boto3


def main(endpoint: str, issuer: str, handler_file: str) -> None:
    common = {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }
    lam = boto3.client("lambda", **common)
    apigw = boto3.client("apigatewayv2", **common)

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("unicorns.py", Path(handler_file).read_text())
    fn = lam.create_function(
        FunctionName="get-unicorn",
        Runtime="python3.11",
        Role="arn:aws:iam::000000000000:role/lambda-role",
        Handler="unicorns.lambda_handler",
        Code={"ZipFile": buf.getvalue()},
        Timeout=10,
        MemorySize=128,
    )
    api = apigw.create_api(Name="unicorns", ProtocolType="HTTP")
    api_id = api["ApiId"]
    authorizer = apigw.create_authorizer(
        ApiId=api_id,
        AuthorizerType="JWT",
        Name="auth0",
        IdentitySource=["$request.header.Authorization"],
        JwtConfiguration={"Issuer": issuer, "Audience": ["https://unicorns-api"]},
    )
    integration = apigw.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=fn["FunctionArn"],
        PayloadFormatVersion="2.0",
    )
    apigw.create_route(
        ApiId=api_id,
        RouteKey="GET /unicorn",
        AuthorizationType="JWT",
        AuthorizerId=authorizer["AuthorizerId"],
        AuthorizationScopes=["read:unicorn"],
        Target=f"integrations/{integration['IntegrationId']}",
    )
    apigw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    url = f"{endpoint}/_aws/execute-api/{api_id}/$default/unicorn?name=x"
    print(json.dumps({"api_id": api_id, "url": url}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
